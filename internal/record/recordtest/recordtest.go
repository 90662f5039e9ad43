// Package recordtest is test support for reading the agent's audit trail:
// one reader of the detailed JSON Lines log for every test that checks
// records, whatever type it decodes them into.
package recordtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
)

// Read decodes every line of dir's detailed log (record.DetailedFile) into
// a T: the agent's own record.Event, or a test's view of the fields it
// checks. A missing file holds no records; a line that is not a whole JSON
// record (a torn write) fails the test and shows the line. The file is read
// whole, so a record of any length is read.
func Read[T any](tb testing.TB, dir string) []T {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, record.DetailedFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(tb, err)
	var out []T
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue // after the last newline
		}
		var v T
		require.NoError(tb, json.Unmarshal(line, &v), "record line: %s", bytes.TrimSuffix(line, []byte("\n")))
		out = append(out, v)
	}
	return out
}
