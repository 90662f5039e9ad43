package pcmk

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// labDir holds the real Pacemaker outputs captured by the cluster helper
// (one directory per scenario, expected.json says who runs what), and copies
// of the outputs captured in the Pacemaker lab.
var labDir = filepath.Join("..", "..", "..", "testdata", "pacemaker")

// expectation is one scenario of testdata/pacemaker/expected.json.
type expectation struct {
	Description string              `json:"description"`
	Active      map[string][]string `json:"active"`
	Configured  map[string][]string `json:"configured"`
	DLMActive   map[string]bool     `json:"dlm_active"`
}

func loadExpectations(t *testing.T) map[string]expectation {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(labDir, "expected.json"))
	require.NoError(t, err)
	var exp map[string]expectation
	require.NoError(t, json.Unmarshal(data, &exp))
	require.NotEmpty(t, exp)
	return exp
}

func readLab(t *testing.T, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(append([]string{labDir}, parts...)...))
	require.NoError(t, err)
	return data
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}
