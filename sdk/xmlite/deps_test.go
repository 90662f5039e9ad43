package xmlite

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// forbiddenDeps would make every guest that links this package much bigger
// (encoding/xml brings fmt and reflect: well over 1 MB of wasm).
var forbiddenDeps = []string{"fmt", "reflect", "encoding/xml", "encoding/json", "os"}

// TestNoHeavyDependencies fails if a forbidden package sneaks into the
// dependency list, natively or for the wasip1 guest build.
func TestNoHeavyDependencies(t *testing.T) {
	for _, env := range [][]string{nil, {"GOOS=wasip1", "GOARCH=wasm"}} {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		deps := strings.Fields(string(out))
		require.Contains(t, deps, "unicode/utf8", "go list output looks wrong: %s", out)
		for _, bad := range forbiddenDeps {
			require.NotContains(t, deps, bad, "env %v", env)
		}
	}
}
