package record

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// MinFreeBytes is the free space the monitor action wants in the log
// filesystem: a few thousand records.
const MinFreeBytes = 16 << 20

// CheckWritable is the monitor's log-directory check: the directory exists
// or can be created and is safe (see EnsureDir), each log file can be
// opened for appending and is safe, a new file can be created there
// (catches read-only filesystems), and the filesystem has MinFreeBytes
// free. It gives up after WriteDeadline, so a hung filesystem fails the
// monitor instead of hanging it.
func CheckWritable(dir string) error {
	done := make(chan error, 1)
	go func() { done <- checkWritable(dir) }()
	t := time.NewTimer(WriteDeadline)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("checking %s took longer than %s (a hung filesystem?)", dir, WriteDeadline)
	}
}

func checkWritable(dir string) error {
	if err := EnsureDir(dir); err != nil {
		return err
	}
	for _, name := range []string{DetailedFile, ReadableFile, OperationalFile} {
		f, _, err := openAppend(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		f.Close()
	}
	f, err := os.CreateTemp(dir, ".monitor-*")
	if err != nil {
		return fmt.Errorf("create a file in %s: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil {
		if free := st.Bavail * uint64(st.Bsize); free < MinFreeBytes {
			return fmt.Errorf("only %d bytes free on the filesystem of %s (want %d)", free, dir, MinFreeBytes)
		}
	}
	return nil
}
