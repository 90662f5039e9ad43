package uuid

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersionsVariantAndForm(t *testing.T) {
	v4, err := V4()
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`), v4)
	v7 := V7(time.Now())
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`), v7)
	other, _ := V4()
	assert.NotEqual(t, v4, other)
}

func TestV7SortsByTime(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 6, 30, 0, 0, time.UTC)
	a, b := V7(t0), V7(t0.Add(time.Millisecond))
	assert.Less(t, a, b)
	assert.Equal(t, "01a21165-9640", V7(t0)[:13], "48 bits of Unix milliseconds lead")
}
