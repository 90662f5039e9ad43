package pcmk

import (
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/guestdeps"
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
		for _, dep := range guestdeps.List(t, pkg, "wasip1") {
			if forbidden[dep] {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
