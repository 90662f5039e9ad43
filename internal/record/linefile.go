package record

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// lineFile writes log lines to a file from one goroutine, so a file that
// blocks (a hung filesystem) delays no log call and no exit: lines queue
// up to a bound and are dropped past it (stderr has them all).
type lineFile struct {
	f       *os.File
	mu      sync.Mutex
	queue   chan []byte
	closed  bool
	dropped int
	done    chan error
}

const lineQueue = 1024

func startLineFile(f *os.File) *lineFile {
	lf := &lineFile{f: f, queue: make(chan []byte, lineQueue), done: make(chan error, 1)}
	go lf.run()
	return lf
}

// Write queues one line (slog hands each record over in one Write).
func (lf *lineFile) Write(b []byte) (int, error) {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return len(b), nil
	}
	select {
	case lf.queue <- append([]byte(nil), b...):
	default:
		lf.dropped++
	}
	return len(b), nil
}

func (lf *lineFile) run() {
	var errs []error
	for b := range lf.queue {
		if err := appendLine(lf.f, b); err != nil && len(errs) < 3 {
			errs = append(errs, err)
		}
	}
	errs = append(errs, lf.f.Sync())
	lf.done <- errors.Join(append(errs, lf.f.Close())...)
}

// Close stops taking lines and waits at most wait for the queue to drain.
func (lf *lineFile) Close(wait time.Duration) error {
	lf.mu.Lock()
	if lf.closed {
		lf.mu.Unlock()
		return nil
	}
	lf.closed = true
	dropped := lf.dropped
	close(lf.queue)
	lf.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case err := <-lf.done:
		if dropped > 0 {
			err = errors.Join(err, fmt.Errorf("%w: %d", ErrOpLogStalled, dropped))
		}
		return err
	case <-t.C:
		return fmt.Errorf("%w: %s did not finish within %s", ErrOpLogStalled, lf.f.Name(), wait)
	}
}

// lineLockWait bounds the wait for another agent's line: a line takes
// one write(2), so a longer hold is a stuck process.
const lineLockWait = time.Second

// appendLine writes one line whole. Under the lock a write cut short (a
// full disk) is cut off again, so the next line does not start inside it;
// without the lock (held by a stuck process, or no flock here) it is
// written as one O_APPEND write and, if cut short, ended with a newline.
func appendLine(f *os.File, b []byte) error {
	// Unlike a record, a line is written even when the lock is not had.
	if locked, _ := lock(f, lineLockWait); locked {
		defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return appendWhole(f, b, true)
	}
	err := appendWhole(f, b, false)
	if err != nil {
		_, _ = f.Write([]byte("\n"))
	}
	return err
}
