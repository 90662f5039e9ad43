package xmlite

import (
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/guestcheck"
)

// TestGuestSize reports what linking xmlite adds to a reactor and keeps it
// under a ceiling: every MB of guest costs about 10 ms per fence.
func TestGuestSize(t *testing.T) {
	guestcheck.SizeUnder(t, "./testdata/guest/xmlite", "xmlite", 100<<10)
}
