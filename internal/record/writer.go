package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/flock"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fsync"
)

// LockWait bounds how long a writer waits for the advisory lock. A holder
// only keeps it for two appends and two fsyncs; a holder that keeps it
// longer is stuck (a hung filesystem, a stopped process), and appending
// beside it could interleave the two files' order, so the record goes to
// the fallback instead.
const LockWait = 5 * time.Second

// WriteDeadline bounds a whole record write: directory checks, opens,
// lock, appends and fsyncs. A hung filesystem blocks in the kernel where
// no signal reaches; the agent stops waiting, sends the record to the
// fallback and answers the fence (the stuck goroutine dies with the
// process).
const WriteDeadline = LockWait + 3*time.Second

// Writer appends events to the detailed and readable logs in Dir. It is
// reusable: a deferred-discovery process writes the second record of an
// event through the same Writer with the same EventID.
type Writer struct {
	Dir string
	// Stderr receives the record when the files cannot be written
	// (Pacemaker logs an agent's stderr). nil: os.Stderr.
	Stderr io.Writer
	// Syslog sends the record to syslog/journal when the files cannot be
	// written. nil: /dev/log via log/syslog if it exists.
	Syslog func(msg string) error
	// Deadline overrides WriteDeadline (0: WriteDeadline).
	Deadline time.Duration
}

// Write appends ev to both files, under an exclusive flock on the detailed
// log so the two files list events in the same order, and fsyncs them. If
// that fails for any reason or takes longer than the deadline, the record
// goes to stderr and syslog instead and Write returns a *FallbackError
// saying why and where the record went (the caller logs it and still
// reports success for the fence action: the event is recorded, just not
// where it should be).
func (w *Writer) Write(ev *Event) error {
	js, err := json.Marshal(ev)
	if err != nil {
		// Only an unsupported value in Discovery.Details could do this.
		ev.Discovery.Attempts = stripDetails(ev.Discovery.Attempts)
		if js, err = json.Marshal(ev); err != nil {
			return fmt.Errorf("encode record: %w", err)
		}
	}
	js = append(js, '\n')
	ferr := w.writeWithin(js, []byte(ev.ReadableLine()))
	if ferr == nil {
		return nil
	}
	return w.fallback(js, ferr)
}

func stripDetails(as []discovery.Attempt) []discovery.Attempt {
	out := make([]discovery.Attempt, len(as))
	for i, a := range as {
		a.Details = nil
		out[i] = a
	}
	return out
}

// writeWithin runs writeFiles in a goroutine and stops waiting at the
// deadline. A write that is given up on is abandoned before its append if
// it has not started it, so the record does not land twice.
func (w *Writer) writeWithin(detailed, readable []byte) error {
	d := w.Deadline
	if d <= 0 {
		d = WriteDeadline
	}
	var abandoned atomic.Bool
	done := make(chan error, 1)
	go func() { done <- w.writeFiles(detailed, readable, &abandoned) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		abandoned.Store(true)
		return fmt.Errorf("writing to %s took longer than %s (a hung filesystem?)", w.Dir, d)
	}
}

// errAbandoned: the deadline passed before the append started.
var errAbandoned = errors.New("abandoned at the deadline")

func (w *Writer) writeFiles(detailed, readable []byte, abandoned *atomic.Bool) error {
	if err := EnsureDir(w.Dir); err != nil {
		return err
	}
	df, created1, err := openAppend(filepath.Join(w.Dir, DetailedFile))
	if err != nil {
		return err
	}
	defer df.Close()
	rf, created2, err := openAppend(filepath.Join(w.Dir, ReadableFile))
	if err != nil {
		return err
	}
	defer rf.Close()

	locked, err := lock(df, LockWait)
	if err != nil {
		return err
	}
	if locked {
		defer syscall.Flock(int(df.Fd()), syscall.LOCK_UN)
	}
	if abandoned.Load() {
		return errAbandoned
	}
	if err := appendWhole(df, detailed, locked); err != nil {
		return err
	}
	if err := appendWhole(rf, readable, locked); err != nil {
		return err
	}
	if err := df.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", df.Name(), err)
	}
	if err := rf.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", rf.Name(), err)
	}
	if created1 || created2 {
		_ = fsync.Path(w.Dir) // the new directory entries must survive a crash too
	}
	return nil
}

// appendWhole writes b in one write(2): with O_APPEND the kernel places it
// atomically at the end, so a reader never sees half a record. If the write
// fails part way (disk full), the partial record is cut off again when we
// hold the lock, so the next record does not start in the middle of a line.
func appendWhole(f *os.File, b []byte, locked bool) error {
	var end int64 = -1
	if locked {
		if fi, err := f.Stat(); err == nil {
			end = fi.Size()
		}
	}
	n, err := f.Write(b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err == nil {
		return nil
	}
	if n > 0 && end >= 0 {
		if terr := f.Truncate(end); terr != nil {
			err = errors.Join(err, fmt.Errorf("cut the partial record: %w", terr))
		}
	}
	return fmt.Errorf("append to %s: %w", f.Name(), err)
}

// lock takes the exclusive flock, waiting at most wait. An error means the
// record must not be appended: another process has held the lock for
// longer than any record takes. SIGTERM does not cut the wait short: the
// record is what the agent is still running for. A filesystem without flock support
// returns false without an error: O_APPEND still keeps records whole.
func lock(f *os.File, wait time.Duration) (locked bool, err error) {
	switch err := flock.Wait(context.Background(), f, wait, 50*time.Millisecond); {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return false, fmt.Errorf("lock %s: another process has held it for more than %s", f.Name(), wait)
	}
	return false, nil
}
