package xmlite

import (
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/guestcheck"
)

// TestNoHeavyDependencies fails if a package that would make every guest
// linking xmlite much bigger sneaks into its dependencies, natively or for the
// wasip1 build (encoding/xml brings fmt and reflect: well over 1 MB of wasm).
func TestNoHeavyDependencies(t *testing.T) {
	guestcheck.NoDeps(t, "unicode/utf8", "fmt", "reflect", "encoding/xml", "encoding/json", "os")
}
