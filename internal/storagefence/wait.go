package storagefence

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/inotify"
	"golang.org/x/sys/unix"
)

// MaxResponseBytes bounds a response: nnf-sos writes a few hundred bytes;
// anything above this is not an answer and fails the fence.
const MaxResponseBytes = 1 << 20

// Outcome is how a storage fence ended, as the record and readable line say it.
type Outcome string

const (
	OutcomeFenced  Outcome = "fenced"  // nnf-sos answered success: true
	OutcomeRefused Outcome = "refused" // nnf-sos answered, but not success: true (or the target was refused here)
	OutcomeTimeout Outcome = "timeout" // no valid answer by the deadline
	OutcomeError   Outcome = "error"   // the request could not be published, the answer could not be read, or the wait was interrupted
)

// Result is what the wait found.
type Result struct {
	Outcome Outcome
	// Success is the response's success value when it was a JSON bool.
	Success         *bool
	Message         string
	ActionPerformed string
	Status          string // R2 responses carry status: "success"
	Wait            time.Duration
	Err             error
	// Answered: a complete response was read (whatever it said).
	Answered bool
}

// Waiter watches the response directory. Create it before publishing the
// request, so that no answer can arrive unseen between the two.
type Waiter struct {
	dir  string
	file *os.File // the inotify descriptor, on Go's poller
	wd   int
}

// watchMask: a response published by rename (R1), created and written in
// place (R2, completed by its close) or created by hand.
const watchMask = unix.IN_MOVED_TO | unix.IN_CLOSE_WRITE | unix.IN_CREATE

// NewWaiter sets up the inotify watch on dir.
func NewWaiter(dir string) (*Waiter, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	wd, err := unix.InotifyAddWatch(fd, dir, watchMask|unix.IN_ONLYDIR)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	return &Waiter{dir: dir, file: os.NewFile(uintptr(fd), "inotify"), wd: wd}, nil
}

// Close releases the watch.
func (w *Waiter) Close() error { return w.file.Close() }

// WaitOptions bound one wait.
type WaitOptions struct {
	// Deadline ends the wait (time.Now-based, so its monotonic reading is used).
	Deadline time.Time
	// Poll is the safety-net re-check beside inotify (events lost to a queue
	// overflow, a directory on a filesystem that does not report them).
	Poll time.Duration
}

// Wait waits for <dir>/<basename>. A response that is empty or not yet valid
// JSON (nnf-sos writes its no-storage answer in place) is read again on the
// next event or poll, and fails only when still invalid at the deadline.
// ctx ending (SIGTERM) ends the wait with OutcomeError.
func (w *Waiter) Wait(ctx context.Context, basename string, o WaitOptions) Result {
	start := time.Now()
	path := filepath.Join(w.dir, basename)
	events := make(chan struct{}, 1)
	readErr := make(chan error, 1)
	go w.readEvents(basename, events, readErr)

	var tick <-chan time.Time
	if o.Poll > 0 {
		ticker := time.NewTicker(o.Poll)
		defer ticker.Stop()
		tick = ticker.C
	}
	deadline := time.NewTimer(time.Until(o.Deadline))
	defer deadline.Stop()

	var lastInvalid error
	check := func() (Result, bool) {
		r, done, invalid := readResponse(path)
		if invalid != nil {
			lastInvalid = invalid
		}
		r.Wait = time.Since(start)
		return r, done
	}
	if r, done := check(); done {
		return r
	}
	for {
		select {
		case <-events:
		case <-tick:
		case <-readErr:
			// The watch is gone; the poll alone carries on.
			readErr = nil
			continue
		case <-deadline.C:
			if r, done := check(); done {
				return r
			}
			r := Result{Outcome: OutcomeTimeout, Wait: time.Since(start),
				Err: fmt.Errorf("no response within %s", o.Deadline.Sub(start).Round(time.Millisecond))}
			if lastInvalid != nil {
				r.Err = fmt.Errorf("%w; the response file was still not valid JSON: %v", r.Err, lastInvalid)
			}
			return r
		case <-ctx.Done():
			if r, done := check(); done {
				return r
			}
			return Result{Outcome: OutcomeError, Wait: time.Since(start),
				Err: fmt.Errorf("wait interrupted before a response: %w", context.Cause(ctx))}
		}
		if r, done := check(); done {
			return r
		}
	}
}

// readEvents signals events on the watched directory that may concern
// basename (or a queue overflow, after which anything may have happened).
func (w *Waiter) readEvents(basename string, events chan<- struct{}, errs chan<- error) {
	buf := make([]byte, 64<<10)
	for {
		n, err := w.file.Read(buf)
		if err != nil {
			errs <- err
			return
		}
		relevant := false
		for _, ev := range inotify.Decode(buf[:n]) {
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 || ev.Name == basename {
				relevant = true
			}
		}
		if relevant {
			select {
			case events <- struct{}{}:
			default:
			}
		}
	}
}

// readResponse reads path once. done: the wait is over (a valid answer, or
// one that can never become valid). invalid: the file exists but is empty or
// not valid JSON yet.
func readResponse(path string) (r Result, done bool, invalid error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{Outcome: OutcomeError, Err: fmt.Errorf("open response: %w", err)}, true, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Result{Outcome: OutcomeError, Err: fmt.Errorf("stat response: %w", err)}, true, nil
	}
	if !fi.Mode().IsRegular() {
		return Result{Outcome: OutcomeError, Err: errors.New("response is not a regular file")}, true, nil
	}
	body, err := io.ReadAll(io.LimitReader(f, MaxResponseBytes+1))
	if err != nil {
		return Result{Outcome: OutcomeError, Err: fmt.Errorf("read response: %w", err)}, true, nil
	}
	if len(body) > MaxResponseBytes {
		return Result{Outcome: OutcomeError, Err: fmt.Errorf("response exceeds %d bytes", MaxResponseBytes)}, true, nil
	}
	r, err = ParseResponse(body)
	if errors.Is(err, ErrIncomplete) {
		return Result{}, false, err
	}
	return r, true, nil
}

// ErrIncomplete: the response is empty or not valid JSON, which is how an
// answer written in place looks while it is being written.
var ErrIncomplete = errors.New("response is empty or not valid JSON yet")

// ParseResponse interprets a complete response. Only a JSON boolean true in
// success fences; false, a missing success, or any other type (the string
// "false" included) is a refusal. message and action_performed are kept
// when they are strings; other keys (both of nnf-sos's shapes) are ignored.
func ParseResponse(body []byte) (Result, error) {
	if len(bytes.TrimSpace(body)) == 0 || !json.Valid(body) {
		return Result{}, fmt.Errorf("%w (%d bytes)", ErrIncomplete, len(body))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return Result{Outcome: OutcomeError, Answered: true, Err: errors.New("response is valid JSON but not an object")}, nil
	}
	r := Result{Answered: true}
	str := func(key string) string {
		var s string
		if raw, ok := m[key]; ok && json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	r.Message, r.ActionPerformed, r.Status = str("message"), str("action_performed"), str("status")
	raw, ok := m["success"]
	// Compared as literals: json.Unmarshal would also turn null into false.
	switch lit := string(bytes.TrimSpace(raw)); {
	case !ok:
		r.Outcome, r.Err = OutcomeRefused, errors.New("response has no success field")
	case lit == "true":
		t := true
		r.Outcome, r.Success = OutcomeFenced, &t
	case lit == "false":
		f := false
		r.Outcome, r.Success, r.Err = OutcomeRefused, &f, errors.New("nnf-sos answered success: false")
	default:
		r.Outcome, r.Err = OutcomeRefused, fmt.Errorf("response success is not a JSON boolean: %s", truncate(raw))
	}
	return r, nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
