// Command sfwaiter is the storage-fence baseline of the benchmarks: the least
// a process can do in nnf-sos's protocol. It publishes one request by rename,
// waits for the response of the same name with inotify, reads it and exits
// 0 on "success": true, with no configuration, record or log. The agent's
// rename-to-exit time over this one's is what the agent adds on the same
// machine at the same load.
//
//	sfwaiter REQUEST_DIR RESPONSE_DIR TARGET
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 4 {
		fail(fmt.Errorf("usage: sfwaiter REQUEST_DIR RESPONSE_DIR TARGET"))
	}
	reqDir, respDir, target := os.Args[1], os.Args[2], os.Args[3]
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		fail(err)
	}
	if _, err := unix.InotifyAddWatch(fd, respDir, unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		fail(err)
	}
	var u [16]byte
	rand.Read(u[:])
	u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	name := target + "-" + id + ".json"
	host, _ := os.Hostname()
	body, _ := json.Marshal(map[string]string{"request_id": id, "timestamp": time.Now().Format(time.RFC3339Nano),
		"action": "reboot", "target_node": target, "recorder_node": host})
	tmp := filepath.Join(reqDir, "."+name+".tmp")
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		fail(err)
	}
	if err := os.Rename(tmp, filepath.Join(reqDir, name)); err != nil {
		fail(err)
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil {
			fail(err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			got := bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)], "\x00")
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if string(got) != name {
				continue
			}
			var r struct {
				Success bool `json:"success"`
			}
			b, err := os.ReadFile(filepath.Join(respDir, name))
			if err == nil && json.Unmarshal(b, &r) == nil {
				if r.Success {
					os.Exit(0)
				}
				os.Exit(1)
			}
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sfwaiter:", err)
	os.Exit(1)
}
