// Package flock takes an exclusive flock(2) without blocking in the kernel:
// a holder that never lets go (a stuck process, a hung filesystem) costs a
// bounded wait, not the caller.
package flock

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// Wait takes the exclusive lock on f, retrying with a delay that doubles
// from 1 ms up to maxDelay, for at most wait. It returns nil once locked;
// syscall.EWOULDBLOCK when wait passed with the lock still held elsewhere;
// ctx's error when ctx ended first; any other error at once (a filesystem
// without flock support says ENOLCK or EOPNOTSUPP). Callers unlock with
// syscall.Flock(fd, LOCK_UN) or by closing f.
func Wait(ctx context.Context, f *os.File, wait, maxDelay time.Duration) error {
	deadline := time.Now().Add(wait)
	for delay := time.Millisecond; ; delay = min(2*delay, maxDelay) {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return err
		}
		if time.Now().After(deadline) {
			return syscall.EWOULDBLOCK
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
