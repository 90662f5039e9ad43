package jsonlite

import (
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/guestcheck"
)

// TestNoHeavyDependencies fails if a package that would make every guest
// linking jsonlite much bigger sneaks into its dependencies, natively or for the
// wasip1 build (fmt alone is +775 KB of wasm, about 8 ms per fence).
func TestNoHeavyDependencies(t *testing.T) {
	guestcheck.NoDeps(t, "strconv", "fmt", "reflect", "encoding/json", "encoding/xml", "os")
}
