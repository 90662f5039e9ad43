package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
)

// Permissions of what the writer creates: the audit trail names cluster
// nodes and filesystems; root and the admin group read it, nobody else.
const (
	DirMode  os.FileMode = 0o750
	FileMode os.FileMode = 0o640
)

// LockWait bounds how long a writer waits for the advisory lock. A holder
// only keeps it for two appends and two fsyncs; if it is stuck (a hung
// filesystem), appending without the lock is still one write(2) with
// O_APPEND, which beats missing Pacemaker's fence timeout.
const LockWait = 5 * time.Second

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
}

// Write appends ev to both files, under an exclusive flock on the detailed
// log so the two files list events in the same order, and fsyncs them. If
// that fails for any reason, the record goes to stderr and syslog instead and
// Write returns the file error (the caller logs it and still reports success
// for the fence action: the event is recorded, just not where it should be).
func (w *Writer) Write(ctx context.Context, ev *Event) error {
	js, err := json.Marshal(ev)
	if err != nil {
		// Only an unsupported value in Discovery.Details could do this.
		ev.Discovery.Attempts = stripDetails(ev.Discovery.Attempts)
		if js, err = json.Marshal(ev); err != nil {
			return fmt.Errorf("encode record: %w", err)
		}
	}
	js = append(js, '\n')
	ferr := w.writeFiles(ctx, js, []byte(ev.ReadableLine()))
	if ferr == nil {
		return nil
	}
	w.fallback(js, ferr)
	return ferr
}

func stripDetails(as []discovery.Attempt) []discovery.Attempt {
	out := make([]discovery.Attempt, len(as))
	for i, a := range as {
		a.Details = nil
		out[i] = a
	}
	return out
}

func (w *Writer) writeFiles(ctx context.Context, detailed, readable []byte) error {
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

	locked := lock(ctx, df)
	if locked {
		defer syscall.Flock(int(df.Fd()), syscall.LOCK_UN)
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
		syncDir(w.Dir) // the new directory entries must survive a crash too
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

func lock(ctx context.Context, f *os.File) bool {
	deadline := time.Now().Add(LockWait)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return true
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return false // flock unsupported here; O_APPEND still keeps records whole
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(delay)
	}
}

// EnsureDir creates dir (mode 0750) if it is missing.
func EnsureDir(dir string) error {
	if dir == "" {
		return errors.New("log directory is empty")
	}
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("log directory %s is not a directory", dir)
		}
		return nil
	}
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return fmt.Errorf("create log directory: %w", err)
	}
	// MkdirAll applies the umask; the mode is part of the contract.
	if err := os.Chmod(dir, DirMode); err != nil {
		return fmt.Errorf("chmod log directory: %w", err)
	}
	return nil
}

// openAppend opens name for appending, creating it with FileMode. created
// reports a new file (its directory entry then needs an fsync).
func openAppend(name string) (f *os.File, created bool, err error) {
	f, err = os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, FileMode)
	if err == nil {
		// Not subject to the umask, unlike the open mode.
		_ = f.Chmod(FileMode)
		return f, true, nil
	}
	if !errors.Is(err, os.ErrExist) {
		return nil, false, fmt.Errorf("create %s: %w", name, err)
	}
	f, err = os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, false, fmt.Errorf("open %s: %w", name, err)
	}
	return f, false, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// fallback makes a record that missed the files durable elsewhere.
func (w *Writer) fallback(js []byte, cause error) {
	line := bytes.TrimRight(js, "\n")
	stderr := w.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	// One write, so concurrent agents' stderr lines stay whole too.
	msg := fmt.Sprintf("fence_gfs2_recorder: could not write the fence record to the log directory (%v); record: %s\n", cause, line)
	_, _ = io.WriteString(stderr, msg)
	send := w.Syslog
	if send == nil {
		send = sendSyslog
	}
	_ = send("fence record (log directory not writable): " + string(line))
}

// sendSyslog uses the local syslog socket (/dev/log; journald listens there
// too), as Pacemaker's own daemons do.
func sendSyslog(msg string) error { return sendSyslogTo("", "", msg) }

func sendSyslogTo(network, addr, msg string) error {
	s, err := syslog.Dial(network, addr, syslog.LOG_DAEMON|syslog.LOG_CRIT, "fence_gfs2_recorder")
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Crit(msg)
}

// MinFreeBytes is the free space the monitor action wants in the log
// filesystem: a few thousand records.
const MinFreeBytes = 16 << 20

// CheckWritable is the monitor's log-directory check: the directory exists
// or can be created, each log file can be opened for appending, a new file
// can be created there (catches read-only filesystems), and the filesystem
// has MinFreeBytes free.
func CheckWritable(dir string) error {
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
