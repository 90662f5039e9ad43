package pcmk

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGuestsStayLean fails when a heavy package sneaks into the pcs guests:
// every megabyte of wasm costs about 10 ms on each fence, and fmt alone adds
// ~0.8 MB, encoding/json or encoding/xml (which bring reflect) over 1 MB.
func TestGuestsStayLean(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	forbidden := map[string]bool{"fmt": true, "encoding/json": true, "encoding/xml": true, "reflect": true}
	for _, pkg := range []string{".", "../../pcs-status", "../../pcs-config"} {
		cmd := exec.Command("go", "list", "-deps", pkg)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		for _, dep := range strings.Fields(string(out)) {
			if forbidden[dep] {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
