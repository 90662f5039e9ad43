package pcmk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/pcmk/pcmktest"
)

// activeSet is "id@node" for every active instance, as a set.
func activeSet(st *Status) map[string]bool {
	out := map[string]bool{}
	for _, in := range st.Instances {
		if in.Active {
			for _, n := range in.Nodes {
				out[in.ID+"@"+n] = true
			}
		}
	}
	return out
}

// TestStatusTextAgreesWithXML: on every captured scenario, the text of
// `pcs status resources` (expanded with the CIB) says exactly what
// crm_mon's XML says about which primitive is active on which node.
func TestStatusTextAgreesWithXML(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(pcmktest.LabDir, "*", "pcs-status-resources.txt"))
	dirs2, _ := filepath.Glob(filepath.Join(pcmktest.LabDir, "shared-lab", "*", "pcs-status-resources.txt"))
	dirs3, _ := filepath.Glob(filepath.Join("testdata", "failures", "*", "pcs-status-resources.txt"))
	checked := 0
	firstReadable := func(dir string, names ...string) ([]byte, error) {
		var err error
		for _, n := range names {
			var data []byte
			if data, err = os.ReadFile(filepath.Join(dir, n)); err == nil {
				return data, nil
			}
		}
		return nil, err
	}
	for _, textFile := range append(append(dirs, dirs2...), dirs3...) {
		dir := filepath.Dir(textFile)
		text, err1 := os.ReadFile(textFile)
		cibData, err2 := firstReadable(dir, "cibadmin-Q.xml", "cibadmin-Q-resources.xml")
		mon, err3 := firstReadable(dir, "crm_mon-1-xml-inactive.xml", "crm_mon-1-xml-inactive-fencehistory.xml", "crm_mon-status.xml")
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cib, err := ParseCIB(cibData)
			require.NoError(t, err)
			fromText, err := ParseStatusText(text, cib)
			require.NoError(t, err)
			fromXML, err := ParseCrmMon(mon)
			require.NoError(t, err)
			want := activeSet(fromXML)
			// The text omits stonith devices (pcs lists them separately).
			for k := range want {
				if r := cib.Resources[k[:strings.LastIndexByte(k, '@')]]; r != nil && r.Class == "stonith" {
					delete(want, k)
				}
			}
			assert.Equal(t, want, activeSet(fromText))
			for _, in := range fromText.Instances {
				assert.NotEmpty(t, in.Agent, in.ID)
			}
		})
		checked++
	}
	assert.GreaterOrEqual(t, checked, 10)
}

func TestStatusTextLines(t *testing.T) {
	cib, err := ParseCIB(pcmktest.ReadLab(t, "lvm-group", "cibadmin-Q.xml"))
	require.NoError(t, err)

	st, err := ParseStatusText([]byte("  * solofs\t(ocf:heartbeat:Filesystem):\t FAILED compute-node-3 (blocked)\n"+
		"  * sololv\t(ocf:heartbeat:LVM-activate):\t Started [ compute-node-3 compute-node-30 ]\n"+
		"  * other\t(ocf:heartbeat:Filesystem):\t Stopped (disabled)\n"), cib)
	require.NoError(t, err)
	require.Len(t, st.Instances, 3)
	assert.True(t, st.Instances[0].Failed)
	assert.True(t, st.Instances[0].OnNode("compute-node-3"))
	assert.Equal(t, []string{"compute-node-3", "compute-node-30"}, st.Instances[1].Nodes)
	assert.False(t, st.Instances[2].Active)

	// A clone of a group expands to the group's members.
	st, err = ParseStatusText(pcmktest.ReadLab(t, "lvm-group", "pcs-status-resources.txt"), cib)
	require.NoError(t, err)
	var members []string
	for _, in := range st.ActiveOn("compute-node-3") {
		if in.Clone == "shared_vg1-clone" {
			assert.Equal(t, "shared_vg1", in.Group)
			members = append(members, in.ID)
		}
	}
	assert.Equal(t, []string{"sharedlv1", "sharedfs1"}, members)

	for name, doc := range map[string]string{
		"old format":     " Clone Set: dlm-clone [dlm]\n     Started: [ n1 ]\n",
		"unknown clone":  "  * Clone Set: nope-clone [nope]:\n    * Started: [ n1 ]\n",
		"nodes no clone": "  * Started: [ n1 ]\n",
		"garbage":        "  * Segmentation fault\n",
		"active no node": "  * fs\t(ocf:heartbeat:Filesystem):\t Started\n",
		"clone no child": "  * Clone Set: x:\n",
		"error from pcs": "Error: unable to get cib\n",
	} {
		_, err := ParseStatusText([]byte(doc), cib)
		assert.Error(t, err, name)
	}
}
