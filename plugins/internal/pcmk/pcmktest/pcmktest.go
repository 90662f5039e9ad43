// Package pcmktest is what the tests of the Pacemaker strategies share (pcmk
// itself, pcs-status, pcs-config, and the chain through the host): the
// recorded lab outputs, their expected answers, and small helpers. Only
// _test files import it.
package pcmktest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// LabDir holds the real Pacemaker outputs captured by the cluster helper
// (one directory per scenario, expected.json says who runs what), and copies
// of the outputs captured in the Pacemaker lab.
var LabDir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "testdata", "pacemaker")
}()

// Expectation is one scenario of testdata/pacemaker/expected.json.
type Expectation struct {
	Description string              `json:"description"`
	Active      map[string][]string `json:"active"`
	Configured  map[string][]string `json:"configured"`
	DLMActive   map[string]bool     `json:"dlm_active"`
}

// Expectations reads LabDir's expected.json, by scenario.
func Expectations(t testing.TB) map[string]Expectation {
	t.Helper()
	var exp map[string]Expectation
	require.NoError(t, json.Unmarshal(ReadLab(t, "expected.json"), &exp))
	require.NotEmpty(t, exp)
	return exp
}

// Read returns the file at the joined path parts, failing t if it cannot.
func Read(t testing.TB, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(parts...))
	require.NoError(t, err)
	return data
}

// ReadLab is Read below LabDir.
func ReadLab(t testing.TB, parts ...string) []byte {
	t.Helper()
	return Read(t, append([]string{LabDir}, parts...)...)
}

// Sorted returns a sorted copy of s, to compare answers whose order does
// not matter; the copy is never nil, so no answer and an empty list compare
// equal.
func Sorted(s []string) []string {
	out := append([]string{}, s...)
	slices.Sort(out)
	return out
}
