package record

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Permissions of what the writer creates: the audit trail names cluster
// nodes and filesystems; root and the admin group read it, nobody else.
const (
	DirMode  os.FileMode = 0o750
	FileMode os.FileMode = 0o640
)

// UnsafeError is a log path the writer refuses to use, with what to do
// about it; monitor prints it as it is.
type UnsafeError struct {
	Path    string
	Problem string
	Fix     string
	Err     error // the system call error, when there was one
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("%s %s; fix: %s", e.Path, e.Problem, e.Fix)
}

func (e *UnsafeError) Unwrap() error { return e.Err }

// trustedOwner: root, or the user the agent runs as (a test or a site
// that runs fenced's agents under another account). Anyone else could
// swap the file's content or the directory's entries under the record.
func trustedOwner(uid uint32) bool {
	return uid == 0 || int(uid) == os.Geteuid()
}

// EnsureDir creates dir (mode 0750) if it is missing and checks that it
// is safe to hold the audit trail: a real directory (not a symbolic link
// someone planted), owned by root, and writable by nobody else, so no
// other user can plant links or FIFOs in it.
func EnsureDir(dir string) error {
	if dir == "" {
		return errors.New("log directory is empty")
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, DirMode); err != nil {
			return fmt.Errorf("create log directory: %w", err)
		}
		// MkdirAll applies the umask; the mode is part of the contract.
		if err := os.Chmod(dir, DirMode); err != nil {
			return fmt.Errorf("chmod log directory: %w", err)
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return fmt.Errorf("log directory: %w", err)
	}
	return checkDir(dir, fi)
}

func checkDir(dir string, fi os.FileInfo) error {
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return &UnsafeError{Path: dir, Problem: "is a symbolic link (the log directory must be a real directory)",
			Fix: "point log_dir at the directory itself"}
	case !fi.IsDir():
		return fmt.Errorf("log directory %s is not a directory", dir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if !trustedOwner(st.Uid) {
		return &UnsafeError{Path: dir, Problem: fmt.Sprintf("is owned by uid %d, not root", st.Uid),
			Fix: "chown root: " + dir}
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return &UnsafeError{Path: dir, Problem: fmt.Sprintf("is writable by group or others (mode %s)", modeString(fi.Mode())),
			Fix: "chmod 0750 " + dir}
	}
	return nil
}

// modeString prints the permission bits as chmod takes them, with the
// sticky, setuid and setgid bits (a 1777 directory is not "0777").
func modeString(m os.FileMode) string {
	bits := uint32(m.Perm())
	if m&os.ModeSticky != 0 {
		bits |= 0o1000
	}
	if m&os.ModeSetgid != 0 {
		bits |= 0o2000
	}
	if m&os.ModeSetuid != 0 {
		bits |= 0o4000
	}
	return fmt.Sprintf("%04o", bits)
}

// openFlags never follow a symbolic link planted as a log file and never
// wait in open(2): a FIFO without a reader fails at once with ENXIO, one
// with a reader is refused by checkFile.
const openFlags = unix.O_WRONLY | unix.O_APPEND | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC

// openAppend opens name for appending, creating it with FileMode, and
// checks it is a regular file owned by root and writable by nobody else.
// created reports a new file (its directory entry then needs an fsync).
func openAppend(name string) (f *os.File, created bool, err error) {
	fd, err := unix.Open(name, openFlags|unix.O_CREAT|unix.O_EXCL, uint32(FileMode))
	if err == nil {
		created = true
		// Not subject to the umask, unlike the open mode.
		_ = unix.Fchmod(fd, uint32(FileMode))
	} else if errors.Is(err, unix.EEXIST) {
		fd, err = unix.Open(name, openFlags, 0)
	}
	if err != nil {
		return nil, false, openError(name, err)
	}
	f = os.NewFile(uintptr(fd), name)
	if err := checkFile(f); err != nil {
		f.Close()
		return nil, false, err
	}
	return f, created, nil
}

func openError(name string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return &UnsafeError{Path: name, Problem: "is a symbolic link", Err: err,
			Fix: "remove it (rm " + name + "); the agent creates the file"}
	case errors.Is(err, unix.ENXIO):
		return &UnsafeError{Path: name, Problem: "is a FIFO or a device, not a regular file", Err: err,
			Fix: "remove it (rm " + name + "); the agent creates the file"}
	}
	return fmt.Errorf("open %s: %w", name, &os.PathError{Op: "open", Path: name, Err: err})
}

func checkFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	if !fi.Mode().IsRegular() {
		return &UnsafeError{Path: f.Name(), Problem: "is not a regular file (" + fileType(fi.Mode()) + ")",
			Fix: "remove it (rm " + f.Name() + "); the agent creates the file"}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if !trustedOwner(st.Uid) {
		return &UnsafeError{Path: f.Name(), Problem: fmt.Sprintf("is owned by uid %d, not root", st.Uid),
			Fix: "chown root: " + f.Name()}
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return &UnsafeError{Path: f.Name(), Problem: fmt.Sprintf("is writable by group or others (mode %s)", modeString(fi.Mode())),
			Fix: "chmod 0640 " + f.Name()}
	}
	return nil
}

func fileType(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return m.Type().String()
}
