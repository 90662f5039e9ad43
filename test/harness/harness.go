// Package harness is test support for the tests that run the built agent
// as root on this machine (test/e2e, test/faults, packaging): the build of
// the agent they test and the lock that keeps them from installing over
// each other.
package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// LabLock is held by whatever runs the Pacemaker lab cluster or installs
// the agent under /usr/sbin: test/e2e, the .deb round trip of packaging and
// scripts/pacemaker-lab/capture-fixtures.sh (make fixtures), so they never
// run at once.
const LabLock = "/tmp/fgr-pacemaker-lab.lock"

// Lock waits up to 10 minutes for the exclusive lock on path and holds it
// until the test ends. holders says who may be holding it, for the failure.
func Lock(tb testing.TB, path, holders string) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		tb.Fatalf("lock %s: %v", path, err)
	}
	waitStart := time.Now()
	deadline := waitStart.Add(10 * time.Minute)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			tb.Fatalf("lock %s: %v (%s holds it)", path, err, holders)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if w := time.Since(waitStart); w > time.Second {
		tb.Logf("waited %v for the lock %s", w.Round(100*time.Millisecond), path)
	}
	tb.Cleanup(func() { f.Close() }) // closing releases the lock
}

// Build is the agent a test package runs, made by Main.
type Build struct {
	Root string // the repository
	Bin  string // bin/ of `make build BIN=...`: the agent and plugins/*.wasm
	Err  error  // why Bin cannot be used
}

// Main is a TestMain: it finds the repository, builds the agent and its
// built-in strategies with the project's own `make build` into a temporary
// bin directory named after the test package (fgr-e2e-bin-*), runs m's
// tests and exits with their code after removing the directory. It builds
// only as root: otherwise the tests skip and the build would be wasted. A
// bin other than "" is a bin directory built beforehand, used instead.
func Main(m *testing.M, b *Build, bin string) {
	wd, err := os.Getwd()
	if err == nil {
		b.Root, err = repoRoot(wd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		if os.Geteuid() != 0 {
			return m.Run() // every test skips, saying why
		}
		if b.Bin = bin; b.Bin != "" {
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "fgr-"+filepath.Base(wd)+"-bin-")
		if err != nil {
			b.Err = err
			return m.Run()
		}
		defer os.RemoveAll(dir)
		b.Bin = dir
		if out, err := exec.Command("make", "-C", b.Root, "BIN="+dir, "build").CombinedOutput(); err != nil {
			b.Err = fmt.Errorf("make build: %v\n%s", err, out)
		}
		return m.Run()
	}()
	os.Exit(code)
}

// repoRoot is the nearest directory up from dir that has go.mod.
func repoRoot(start string) (string, error) {
	for dir := start; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", start)
		}
		dir = parent
	}
}
