package kubectlnnf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// testdataDir is <repo>/testdata/nnf.
func testdataDir(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "nnf")
}

func readTestdata(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir(t), rel))
	require.NoError(t, err)
	return b
}

// expected is the shape of fixtures/expected.json and tricky/expected.json.
type expected struct {
	Computes     map[string][]string         `json:"computes"`
	Details      map[string][]map[string]any `json:"details"`
	KubectlCalls map[string]int              `json:"kubectl_calls"`
	IdentifiedBy map[string]string           `json:"identified_by"`
	Errors       map[string]string           `json:"errors"`
}

func loadExpected(t testing.TB, rel string) expected {
	t.Helper()
	var e expected
	require.NoError(t, json.Unmarshal(readTestdata(t, rel), &e))
	require.NotEmpty(t, e.Computes)
	return e
}

// nodes returns the keys of m, sorted.
func nodes[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// assertMatches checks a discovery result against an expected.json entry:
// the names exactly, and every key of every expected detail entry (the
// strategy may record more). withLockTable says whether lockTable must be
// there too.
func assertMatches(t *testing.T, e expected, node string, res plugin.Result, withLockTable bool) {
	t.Helper()
	want := e.Computes[node]
	if len(want) == 0 {
		assert.Empty(t, res.Filesystems, node)
	} else {
		assert.Equal(t, want, res.Filesystems, node)
	}
	wantDetails, ok := e.Details[node]
	if !ok {
		return
	}
	mounts, _ := res.Details["mounts"].([]map[string]any)
	require.Len(t, mounts, len(wantDetails), "%s: one detail entry per in-use mount", node)
	for i, w := range wantDetails {
		got := normalize(t, mounts[i])
		for k, v := range w {
			if k == "lockTable" && !withLockTable {
				assert.NotContains(t, got, "lockTable", "%s: no lock table unless asked", node)
				continue
			}
			assert.Equal(t, v, got[k], "%s mount %d: %s", node, i, k)
		}
	}
}

// normalize round-trips a detail map through JSON, as the host does when it
// writes the record, so numbers compare as float64 like expected.json's.
func normalize(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}
