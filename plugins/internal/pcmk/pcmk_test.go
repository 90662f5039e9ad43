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

func TestParseTreeRejectsBadXML(t *testing.T) {
	for name, doc := range map[string]string{
		"empty":       "",
		"text only":   "not xml at all",
		"unclosed":    "<cib><configuration>",
		"mismatched":  "<cib></configuration>",
		"two roots":   "<a/><b/>",
		"doctype":     `<!DOCTYPE x [<!ENTITY a "aaaa">]><cib/>`,
		"bad attr":    `<cib id=1/>`,
		"deep nested": strings.Repeat("<a>", maxDepth+1) + strings.Repeat("</a>", maxDepth+1),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseTree([]byte(doc))
			assert.Error(t, err)
		})
	}
}

func TestParseTreeKeepsTextAndSelfClosing(t *testing.T) {
	root, err := ParseTree([]byte(`<r a="1 &amp; 2"><e/><f>hi <![CDATA[there]]></f></r>`))
	require.NoError(t, err)
	assert.Equal(t, "1 & 2", root.Attr("a"))
	require.Len(t, root.Children, 2)
	assert.Empty(t, root.Children[0].Children)
	assert.Equal(t, "hi there", root.Child("f").Text)
	assert.Nil(t, root.Child("missing"))
	assert.Equal(t, "f", root.Find("f").Name)
}

func TestParseCIBSharedLab(t *testing.T) {
	cib, err := ParseCIB(pcmktest.ReadLab(t, "shared-lab", "gfs2-stack", "cibadmin-Q.xml"))
	require.NoError(t, err)
	require.True(t, cib.HasConfiguration)

	var ids []string
	for _, p := range cib.Primitives {
		ids = append(ids, p.ID)
	}
	assert.Equal(t, []string{"spy", "spy2", "dlm", "sharedfs", "sharedlv1", "sharedfs1", "scratchfs"}, ids)

	fs1 := cib.Resources["sharedfs1"]
	require.NotNil(t, fs1)
	assert.True(t, fs1.IsFilesystem())
	assert.Equal(t, "gfs2", fs1.FSType())
	assert.Equal(t, "/dev/shared_vg1/shared_lv1", fs1.Params["device"])
	assert.Equal(t, "/mnt/gfs1", fs1.Params["directory"])
	assert.Equal(t, "shared_vg1", fs1.Group())
	assert.Equal(t, "shared_vg1-clone", fs1.Clone())
	// The LVM member before it in the group is disabled, so it cannot start.
	assert.Equal(t, "sharedlv1", fs1.StoppedBy())

	assert.Equal(t, "gfs2-fs-clone", cib.Resources["sharedfs"].StoppedBy())
	assert.Equal(t, "", cib.Resources["scratchfs"].StoppedBy())
	assert.Equal(t, "tmpfs", cib.Resources["scratchfs"].FSType())
	assert.False(t, cib.Resources["sharedlv1"].IsFilesystem())
	assert.True(t, IsDLM("dlm", cib.Resources["dlm"].Agent()))

	_, ok := cib.Node("compute-node-3")
	assert.True(t, ok)
	_, ok = cib.Node("compute-node-30")
	assert.False(t, ok)
	assert.Len(t, cib.Colocations, 2)
}

func TestParseCIBScopes(t *testing.T) {
	// cibadmin --scope=resources: no nodes or constraints.
	res, err := ParseCIB(pcmktest.ReadLab(t, "shared-lab", "gfs2-stack", "cibadmin-Q-resources.xml"))
	require.NoError(t, err)
	assert.False(t, res.HasConfiguration)
	assert.Len(t, res.Primitives, 7)

	cfg, err := ParseCIB(pcmktest.ReadLab(t, "location-ban", "cibadmin-Q-configuration.xml"))
	require.NoError(t, err)
	assert.True(t, cfg.HasConfiguration)
	assert.NotEmpty(t, cfg.Locations)

	_, err = ParseCIB([]byte(`<pacemaker-result/>`))
	assert.ErrorContains(t, err, "want <cib>")
	_, err = ParseCIB([]byte(`<cib><configuration/></cib>`))
	assert.ErrorContains(t, err, "no <resources>")
	_, err = ParseCIB([]byte(`<resources><primitive class="ocf"/></resources>`))
	assert.ErrorContains(t, err, "without an id")
	_, err = ParseCIB([]byte(`<resources><primitive id="a"/><clone id="c"><primitive id="a"/></clone></resources>`))
	assert.ErrorContains(t, err, "appears twice")
}

func TestParseCrmMonSharedLab(t *testing.T) {
	for _, file := range []string{"crm_mon-1-xml-inactive-fencehistory.xml", "pcs-status-xml.xml", "crm_mon-1-xml.xml"} {
		t.Run(file, func(t *testing.T) {
			st, err := ParseCrmMon(pcmktest.ReadLab(t, "shared-lab", "gfs2-stack", file))
			require.NoError(t, err)
			var ids []string
			for _, in := range st.ActiveOn("rabbit-node-1") {
				ids = append(ids, in.ID)
			}
			assert.Equal(t, []string{"spy", "spy2", "dlm", "scratchfs"}, ids)
			assert.Empty(t, st.ActiveOn("compute-node-3"))
			n, ok := st.Node("compute-node-3")
			require.True(t, ok)
			assert.False(t, n.Online)
			_, ok = st.Node("compute-node-30")
			assert.False(t, ok)
		})
	}
}

func TestParseCrmMonGroupInClone(t *testing.T) {
	st, err := ParseCrmMon(pcmktest.ReadLab(t, "shared-lab", "gfs2-stack", "crm_mon-1-xml-inactive-fencehistory.xml"))
	require.NoError(t, err)
	var found bool
	for _, in := range st.Instances {
		if in.ID == "sharedfs1" {
			found = true
			assert.Equal(t, "shared_vg1", in.Group, "group instance suffix :N removed")
			assert.Equal(t, "shared_vg1-clone", in.Clone)
			assert.False(t, in.Active)
		}
	}
	assert.True(t, found)
}

// TestParseCrmMonErrors uses real crm_mon failure outputs (testdata/capture.sh).
func TestParseCrmMonErrors(t *testing.T) {
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		return data
	}
	// Unreadable CIB: crm_mon 2.1.5 says code 0 "OK" but lists an error.
	_, err := ParseCrmMon(read("crm_mon-no-cib.xml"))
	assert.ErrorContains(t, err, "Could not connect to the CIB")
	_, err = ParseCrmMon(read("crm_mon-bad-option.xml"))
	assert.ErrorContains(t, err, "status 64 (Incorrect usage)")

	// A cluster without resources has no <resources> at all: not an error.
	st, err := ParseCrmMon(read("crm_mon-empty-cluster.xml"))
	require.NoError(t, err)
	assert.Empty(t, st.Instances)

	_, err = ParseCrmMon([]byte(`<cib/>`))
	assert.ErrorContains(t, err, "want <pacemaker-result>")
	_, err = ParseCrmMon([]byte(`<pacemaker-result><status code="0" message="OK"/></pacemaker-result>`))
	assert.ErrorContains(t, err, "neither <nodes> nor <resources>")
	_, err = ParseCrmMon([]byte(`<pacemaker-result><nodes>`))
	assert.ErrorContains(t, err, "not valid XML")
}

func TestInstanceOnNodeIsExact(t *testing.T) {
	in := Instance{Active: true, Nodes: []string{"compute-node-30"}}
	assert.True(t, in.OnNode("compute-node-30"))
	assert.False(t, in.OnNode("compute-node-3"))
	assert.False(t, in.OnNode("compute-node-300"))
	in.Active = false
	assert.False(t, in.OnNode("compute-node-30"))
}

func TestParseScore(t *testing.T) {
	for in, want := range map[string]int{"INFINITY": Infinity, "+INFINITY": Infinity, "-INFINITY": -Infinity,
		"-inFinity": -Infinity, "100": 100, "-5": -5, "+7": 7, "99999999": Infinity, "-99999999": -Infinity} {
		got, ok := ParseScore(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "red", "1.5", "INF"} {
		_, ok := ParseScore(in)
		assert.False(t, ok, in)
	}
}

func TestSetNonEmpty(t *testing.T) {
	details := map[string]any{}
	SetNonEmpty(details, "none", []string(nil))
	SetNonEmpty(details, "empty", []map[string]any{})
	SetNonEmpty(details, "ids", []string{"a"})
	assert.Equal(t, map[string]any{"ids": []string{"a"}}, details, "only the non-empty list, as its own type")
}
