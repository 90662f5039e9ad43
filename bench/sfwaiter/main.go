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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/inotify"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/uuid"
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
	id, err := uuid.V4()
	if err != nil {
		fail(err)
	}
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
		for _, ev := range inotify.Decode(buf[:n]) {
			if ev.Name != name {
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
