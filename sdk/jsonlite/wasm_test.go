package jsonlite

import (
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/guestcheck"
)

// TestGuestSize reports what linking jsonlite adds to a reactor (the guest
// exercises every Reader and Writer method) and keeps it under a ceiling:
// every MB of guest costs about 10 ms per fence.
func TestGuestSize(t *testing.T) {
	guestcheck.SizeUnder(t, "./testdata/guest/jsonlite", "jsonlite (whole API)", 180<<10)
}
