package jsonlite

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// forbiddenDeps would make every guest that links this package much bigger
// (fmt alone is +775 KB of wasm, about 8 ms per fence).
var forbiddenDeps = []string{"fmt", "reflect", "encoding/json", "encoding/xml", "os"}

// TestNoHeavyDependencies fails if a forbidden package sneaks into the
// dependency list, natively or for the wasip1 guest build.
func TestNoHeavyDependencies(t *testing.T) {
	for _, env := range [][]string{nil, {"GOOS=wasip1", "GOARCH=wasm"}} {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		deps := strings.Fields(string(out))
		require.Contains(t, deps, "strconv", "go list output looks wrong: %s", out)
		for _, bad := range forbiddenDeps {
			require.NotContains(t, deps, bad, "env %v", env)
		}
	}
}
