// Package guestdeps lists what a plugin package links, for the tests that
// keep heavy packages out of the guests: every megabyte of wasm costs about
// 10 ms on each fence. Only _test files import it.
package guestdeps

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// List returns `go list -deps pkg` (pkg relative to the test's directory)
// for the wasip1 guest build when goos is "wasip1", natively when it is "".
func List(t testing.TB, pkg, goos string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	cmd := exec.Command(goBin, "list", "-deps", pkg)
	cmd.Env = os.Environ()
	if goos != "" {
		cmd.Env = append(cmd.Env, "GOOS="+goos, "GOARCH=wasm")
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return strings.Fields(string(out))
}
