// Package storagefence speaks the NNF fence request/response protocol: the
// agent publishes a request file that nnf-sos's node manager (on the same
// rabbit) acts on by deleting the target compute's GFS2 NVMe storage groups,
// then waits for nnf-sos's response file of the same basename.
//
// Files of the protocol:
//
//	<request_dir>/<target>-<uuidv4>.json    the request (nnf-sos deletes it once answered)
//	<request_dir>/.<that name>.tmp          the request being written (renamed into place)
//	<response_dir>/<same basename>          nnf-sos's answer; a success answer is the durable
//	                                        "this compute is fenced" marker, removed only by an admin
//
// nnf-sos reads requests on inotify Create events (a rename counts) and on
// startup, skips dot files there but not in its later scans of *.json files,
// so a request must appear complete under its final name in one rename, from
// a temp name that both starts with a dot and does not end in .json.
package storagefence

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fsync"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/uuid"
)

// Request is the request file's content: five strings, as nnf-sos decodes it
// (a non-string field would make nnf-sos skip the whole file).
type Request struct {
	RequestID    string `json:"request_id"`
	Timestamp    string `json:"timestamp"`
	Action       string `json:"action"`
	TargetNode   string `json:"target_node"`
	RecorderNode string `json:"recorder_node"`
}

// TimestampFormat is local time with its UTC offset, as the reference agent
// writes it (microseconds; nobody parses it).
const TimestampFormat = "2006-01-02T15:04:05.000000-07:00"

// NewRequest builds a request with a fresh UUIDv4 id. now should be local
// time: the timestamp keeps its offset.
func NewRequest(target, action, recorder string, now time.Time) (Request, error) {
	id, err := NewUUIDv4()
	if err != nil {
		return Request{}, err
	}
	return Request{RequestID: id, Timestamp: now.Format(TimestampFormat), Action: action,
		TargetNode: target, RecorderNode: recorder}, nil
}

// Basename is the request's file name, which nnf-sos reuses for the response.
func (r Request) Basename() string { return r.TargetNode + "-" + r.RequestID + ".json" }

// NewUUIDv4 returns a random lowercase hyphenated UUID (RFC 9562 version 4).
func NewUUIDv4() (string, error) {
	id, err := uuid.V4()
	if err != nil {
		return "", fmt.Errorf("request id: %w", err)
	}
	return id, nil
}

// Refusal reasons of CheckTarget.
var (
	ErrEmptyTarget = errors.New("no target given (port, plug or nodename)")
	ErrLocalTarget = errors.New("target is this host: nnf-sos would delete the rabbit's own GFS2 storage groups")
)

// CheckTarget refuses a target that could address anything but one compute:
// nnf-sos answers any name (a typo gets a success marker), the name becomes
// part of a path, and a request for the rabbit itself deletes the rabbit's
// own storage. hostnames are the local host's names (short and full). The
// error never repeats the name; the caller records it escaped.
func CheckTarget(target string, hostnames ...string) error {
	switch {
	case target == "":
		return ErrEmptyTarget
	case strings.HasPrefix(target, "."):
		return errors.New("target starts with '.': nnf-sos skips such files on one path and reads them on another")
	case strings.ContainsAny(target, `/\`):
		return errors.New(`target contains '/' or '\'`)
	case strings.Contains(target, ".."):
		return errors.New("target contains '..'")
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("target has a blank or control byte (0x%02x) at offset %d", c, i)
		}
	}
	targetShort, _, _ := strings.Cut(target, ".")
	for _, h := range hostnames {
		if h == "" {
			continue
		}
		// Short names compared: this host under any domain is still this host.
		short, _, _ := strings.Cut(h, ".")
		if strings.EqualFold(targetShort, short) {
			return ErrLocalTarget
		}
	}
	return nil
}

// Publish writes r into dir as <basename> so that it appears only by a
// rename, complete: the JSON goes to .<basename>.tmp in the same directory,
// is fsynced, renamed into place, and the directory is fsynced so the
// request survives a crash of the rabbit. It returns the final path.
func Publish(dir string, r Request) (string, error) {
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	final := filepath.Join(dir, r.Basename())
	tmp := filepath.Join(dir, tempName(r.Basename()))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("create request: %w", err)
	}
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("write request: %w", err)
	}
	if err := fsync.Path(dir); err != nil {
		// The request is in place and nnf-sos has seen it; only its
		// durability across a power cut is in doubt.
		return final, fmt.Errorf("request published, but fsync of %s failed: %w", dir, err)
	}
	return final, nil
}

func tempName(basename string) string { return "." + basename + ".tmp" }

// Withdraw removes the agent's own request if nnf-sos has not taken it: a
// request left behind after a failed or abandoned fence would be acted on
// whenever nnf-sos next scans, possibly after an admin has unfenced the node.
// It reports whether the file was there.
func Withdraw(path string) (bool, error) {
	err := os.Remove(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	}
	return false, err
}

// EnsureDirs creates the request and response directories (0755, like
// nnf-sos does) when missing.
func EnsureDirs(dirs ...string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}
