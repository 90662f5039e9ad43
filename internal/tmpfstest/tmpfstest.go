// Package tmpfstest mounts a small tmpfs for tests that need a real full
// disk (ENOSPC from the kernel, not from a fake).
package tmpfstest

import (
	"os"
	"os/exec"
	"testing"
)

// Mount mounts a tmpfs of size (mount's size=, e.g. "64k") with the root
// directory's mode on a new temporary directory, unmounts it when the test
// ends, and returns its path. The test is skipped when not run as root or
// when the mount fails (a container without CAP_SYS_ADMIN).
func Mount(t testing.TB, size, mode string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode="+mode, "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	return mnt
}
