package host

// Checks for files the agent (root, on the fence path) reads and then
// trusts: modules, compile-cache entries and head-start plans. Whoever can
// write one of them, or rename an entry in a directory on its path, chooses
// what root runs.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// modeString prints a mode the way chmod takes it, with the set-id and
// sticky bits (Go's Perm() drops them: 1777 is not 0777).
func modeString(fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%04o", st.Mode&0o7777)
	}
	return fmt.Sprintf("%04o", fi.Mode().Perm())
}

func ownerOK(fi os.FileInfo) (uint32, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, true
	}
	return st.Uid, st.Uid == 0 || int(st.Uid) == os.Geteuid()
}

// checkChain refuses path when anyone but root or the agent's user could
// replace it: every component, the file included, must be owned by one of
// them, and every directory on the way must not be writable by group or
// others unless it is sticky (/tmp: others can then not rename or remove
// what root owns). Symlinks on the way are checked as what they are (their
// owner), then path is walked again as what they point to by the caller.
func checkChain(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if uid, ok := ownerOK(fi); !ok {
			return fmt.Errorf("%s is owned by uid %d, not by root or the agent's uid %d (chown root)", p, uid, os.Geteuid())
		}
		if p != abs && fi.IsDir() && fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
			return &writableDirError{dir: p, mode: modeString(fi)}
		}
		if p == "/" {
			return nil
		}
	}
}

type writableDirError struct{ dir, mode string }

func (e *writableDirError) Error() string {
	return fmt.Sprintf("its directory %s has mode %s and lets group or others replace it (chmod go-w)", e.dir, e.mode)
}

// openRegular opens path for reading without following a final symlink and
// without blocking (a FIFO would hang open(2) for ever), and refuses
// anything but a regular file owned by root or the agent's user that group
// and others cannot write.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) {
		return nil, nil, fmt.Errorf("refusing %s: it is a symlink", path)
	}
	if err != nil {
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("refusing %s: not a regular file (%s)", path, fileType(fi))
	}
	if fi.Mode().Perm()&0o022 != 0 {
		f.Close()
		return nil, nil, fmt.Errorf("refusing %s: mode %s lets group or others write it (chmod go-w)", path, modeString(fi))
	}
	if uid, ok := ownerOK(fi); !ok {
		f.Close()
		return nil, nil, fmt.Errorf("refusing %s: owned by uid %d, not by root or the agent's uid %d (chown root)", path, uid, os.Geteuid())
	}
	return f, fi, nil
}

func fileType(fi os.FileInfo) string {
	switch m := fi.Mode(); {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	}
	return "mode " + fi.Mode().String()
}
