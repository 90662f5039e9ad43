package pairing

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withStorageAttr adds nnf_storage_fence=<v> to the recorder device of a
// fixture made by real pcs.
func withStorageAttr(t *testing.T, cib []byte, v string) []byte {
	t.Helper()
	anchor := `<nvpair id="recorder-instance_attributes-pcmk_host_list"`
	require.Contains(t, string(cib), anchor)
	attr := `<nvpair id="recorder-instance_attributes-nnf_storage_fence" name="nnf_storage_fence" value="` + v + `"/>` + "\n        "
	return []byte(strings.Replace(string(cib), anchor, attr+anchor, 1))
}

// In storage-fence mode the device is a real fence: alone in a level is
// its normal configuration, by its own parameter or by the node's mode.
func TestStorageFenceDeviceMayStandAlone(t *testing.T) {
	cib, err := os.ReadFile(filepath.Join(fixtureDir, "alone.xml"))
	require.NoError(t, err)

	got, err := FindWith(cib, Options{})
	require.NoError(t, err)
	assertProblems(t, cases["alone"], got)

	got, err = FindWith(cib, Options{StorageFenceDefault: true})
	require.NoError(t, err)
	assert.Empty(t, got, "storage-fence mode on this node")

	got, err = FindWith(withStorageAttr(t, cib, "1"), Options{})
	require.NoError(t, err)
	assert.Empty(t, got, "nnf_storage_fence=1 on the device")

	got, err = FindWith(withStorageAttr(t, cib, "0"), Options{StorageFenceDefault: true})
	require.NoError(t, err)
	assertProblems(t, cases["alone"], got)

	// Through Check, with the real cibadmin reading the fixture as a CIB file.
	cfg := configFor(t, cibadminPath(t), "alone")
	require.Error(t, Check(context.Background(), cfg, nil))
	cfg.StorageFence.Enabled = true
	require.NoError(t, Check(context.Background(), cfg, nil))
}
