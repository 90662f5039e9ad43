package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The guest's size is fence latency (~10 ms per MB on every fence), and fmt,
// encoding/json and reflect would add about 1.5 MB. Check the real guest
// build's dependency list, not the native one.
func TestGuestDependenciesStayLean(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	for _, goos := range []string{"wasip1", ""} {
		cmd := exec.Command(goBin, "list", "-deps", ".")
		cmd.Env = os.Environ()
		if goos != "" {
			cmd.Env = append(cmd.Env, "GOOS=wasip1", "GOARCH=wasm")
		}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		deps := strings.Fields(string(out))
		require.Contains(t, deps, "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite")
		for _, banned := range []string{"fmt", "encoding/json", "reflect", "encoding/hex", "os/exec"} {
			require.NotContains(t, deps, banned, "GOOS=%s: the kubectl-nnf guest must not import %s", goos, banned)
		}
	}
}
