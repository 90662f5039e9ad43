package intfmt

import (
	"math"
	"strconv"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/assert"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/guestcheck"
)

// TestAgreesWithStrconv checks both functions against strconv on the edges
// of every digit count and of the int64 range.
func TestAgreesWithStrconv(t *testing.T) {
	ns := []int64{0, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	for p := int64(1); p > 0 && p <= math.MaxInt64/10; p *= 10 {
		ns = append(ns, p-1, p, p+1, -p+1, -p, -p-1)
	}
	for _, n := range ns {
		want := strconv.FormatInt(n, 10)
		assert.Equal(t, "x="+want, string(AppendInt([]byte("x="), n)))
		assert.Equal(t, want, Itoa(int(n)))
	}
}

// TestNoDependencies keeps the package free of imports, strconv above all.
func TestNoDependencies(t *testing.T) {
	guestcheck.NoDeps(t, "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/intfmt", "strconv", "fmt", "reflect", "errors")
}
