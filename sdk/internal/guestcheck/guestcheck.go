// Package guestcheck holds the checks the guest-side SDK packages share in
// their tests: build a package as a wasip1 reactor the way `make plugins`
// builds strategies, measure what it adds over a bare reactor, and keep heavy
// packages out of its dependencies. Guest size is fence latency (about 10 ms
// per MB of wasm on every fence), so these checks guard a cost, not a style.
// Only _test files import it.
package guestcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/assert"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/require"
)

// Build builds the Go package in dir as a wasip1 reactor and returns the
// .wasm path (in a temp dir of t).
func Build(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(dir)+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, dir)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	return out
}

// BareDir is the baseline reactor: the same exports as the codec guests,
// copying its input to its output, and nothing else.
func BareDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "bare")
}

// AddedBytes builds dir and the bare reactor and returns both sizes.
func AddedBytes(t testing.TB, dir string) (bare, with int64) {
	t.Helper()
	size := func(d string) int64 {
		fi, err := os.Stat(Build(t, d))
		require.NoError(t, err)
		return fi.Size()
	}
	return size(BareDir()), size(dir)
}

// SizeUnder builds the guest in dir, logs what it adds over the bare reactor
// and fails t when that is max bytes or more. It skips t under -short: it
// builds two wasm guests.
func SizeUnder(t testing.TB, dir, what string, max int64) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds two wasm guests")
	}
	bare, with := AddedBytes(t, dir)
	added := with - bare
	t.Logf("bare reactor %d B, with %s %d B: +%d B (+%.1f%%)", bare, what, with, added, 100*float64(added)/float64(bare))
	assert.Less(t, added, max, "%s grew: every MB of guest costs ~10 ms per fence", what)
}

// NoDeps fails t if any of forbidden is a dependency of the package in the
// current directory, natively or for the wasip1 guest build. mustHave is a
// package the list must contain, so a broken `go list` cannot pass.
func NoDeps(t *testing.T, mustHave string, forbidden ...string) {
	t.Helper()
	for _, env := range [][]string{nil, {"GOOS=wasip1", "GOARCH=wasm"}} {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		deps := strings.Fields(string(out))
		require.Contains(t, deps, mustHave, "go list output looks wrong: %s", out)
		for _, bad := range forbidden {
			require.NotContains(t, deps, bad, "env %v", env)
		}
	}
}
