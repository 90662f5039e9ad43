package pcsconfig

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/pcmk/pcmktest"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin/plugintest"
)

var cibadminArgs = configCommands[0].Args

func scripted(t *testing.T, cib []byte) *plugintest.Context {
	return plugintest.NewContext(t).Allow("cibadmin", "pcs").
		Script("cibadmin", plugintest.Output(cib), cibadminArgs...)
}

// TestScenarios compares with the "configured" answers of
// testdata/pacemaker/expected.json on every captured scenario and node.
func TestScenarios(t *testing.T) {
	tested := 0
	for scenario, e := range pcmktest.Expectations(t) {
		cib, err := os.ReadFile(filepath.Join(pcmktest.LabDir, scenario, "cibadmin-Q-configuration.xml"))
		if err != nil {
			t.Logf("%s: not captured yet", scenario)
			continue
		}
		for node, want := range e.Configured {
			t.Run(scenario+"/"+node, func(t *testing.T) {
				ctx := scripted(t, cib)
				res, err := Discover(ctx, plugin.Request{Node: node, Action: "reboot"})
				require.NoError(t, err)
				assert.Equal(t, pcmktest.Sorted(want), pcmktest.Sorted(res.Filesystems))
				assert.Len(t, ctx.Calls(), 1, "one cibadmin call answers")
				for _, r := range detailList(res, "resources") {
					assert.Equal(t, "gfs2", r["fstype"])
					assert.NotEmpty(t, r["device"])
				}
			})
			tested++
		}
	}
	assert.GreaterOrEqual(t, tested, 15, "scenario nodes tested")
}

func detailList(res plugin.Result, key string) []map[string]any {
	l, _ := res.Details[key].([]map[string]any)
	return l
}

func ids(list []map[string]any) []string {
	var out []string
	for _, m := range list {
		out = append(out, m["id"].(string))
	}
	return out
}

func TestDisabledClone(t *testing.T) {
	cib := pcmktest.ReadLab(t, "disabled-clone", "cibadmin-Q-configuration.xml")
	res, err := Discover(scripted(t, cib), plugin.Request{Node: "compute-node-3", Action: "reboot"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gfs2-home"}, res.Filesystems)
	disabled := detailList(res, "disabled")
	require.Len(t, disabled, 1)
	assert.Equal(t, "gfs2-old", disabled[0]["id"])
	assert.Contains(t, disabled[0]["reason"], "target-role=Stopped on gfs2-old-clone")
	assert.Equal(t, true, res.Details["dlm_may_run"])
}

func TestLocationBan(t *testing.T) {
	cib := pcmktest.ReadLab(t, "location-ban", "cibadmin-Q-configuration.xml")
	res, err := Discover(scripted(t, cib), plugin.Request{Node: "compute-node-3", Action: "reboot"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gfs2-home"}, res.Filesystems)
	excluded := detailList(res, "excluded")
	assert.Equal(t, []string{"gfs2-proj"}, ids(excluded))
	assert.Contains(t, excluded[0]["reason"], "bans compute-node-3")

	// The rule-based ban names compute-node-30 exactly, not compute-node-3.
	res, err = Discover(scripted(t, cib), plugin.Request{Node: "compute-node-30", Action: "reboot"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gfs2-proj"}, res.Filesystems)
	assert.Contains(t, detailList(res, "excluded")[0]["reason"], "rule")
}

func TestSharedLab(t *testing.T) {
	cib := pcmktest.ReadLab(t, "shared-lab", "gfs2-stack", "cibadmin-Q.xml")
	// Both gfs2 resources are configured but cannot run: the clone is
	// disabled, and the group's LVM member before the Filesystem is.
	res, err := Discover(scripted(t, cib), plugin.Request{Node: "compute-node-3", Action: "reboot"})
	require.NoError(t, err)
	assert.Empty(t, res.Filesystems)
	disabled := detailList(res, "disabled")
	assert.Equal(t, []string{"sharedfs", "sharedfs1"}, ids(disabled))
	assert.Contains(t, disabled[1]["reason"], "sharedlv1")
	assert.Equal(t, "shared_vg1", disabled[1]["group"])
	assert.Equal(t, "shared_vg1-clone", disabled[1]["clone"])
	assert.Equal(t, []string{"dlm"}, res.Details["dlm_resources"])

	res, err = Discover(scripted(t, cib), plugin.Request{Node: "compute-node-3", Action: "reboot",
		Config: map[string]any{"fstypes": []any{"tmpfs"}}})
	require.NoError(t, err)
	assert.Equal(t, []string{"scratchfs"}, res.Filesystems)

	// A node the CIB does not know runs nothing; prefix names do not match.
	res, err = Discover(scripted(t, cib), plugin.Request{Node: "compute-node-30", Action: "reboot",
		Config: map[string]any{"fstypes": []any{"tmpfs"}}})
	require.NoError(t, err)
	assert.Empty(t, res.Filesystems)
	assert.Equal(t, false, res.Details["node_in_cib"])
	assert.Contains(t, detailList(res, "excluded")[0]["reason"], "not in the CIB")
}

func TestStandbyNodeStillReported(t *testing.T) {
	cib := pcmktest.ReadLab(t, "standby-none", "cibadmin-Q-configuration.xml")
	res, err := Discover(scripted(t, cib), plugin.Request{Node: "compute-node-3", Action: "reboot"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gfs2-home"}, res.Filesystems)
	assert.Equal(t, true, res.Details["node_standby"])
}

func TestFallbacksAndErrors(t *testing.T) {
	cib := pcmktest.ReadLab(t, "location-ban", "cibadmin-Q.xml")
	// cibadmin not granted: `pcs cluster cib` prints the same CIB.
	ctx := plugintest.NewContext(t).Allow("pcs").Script("pcs", plugintest.Output(cib), "cluster", "cib")
	res, err := Discover(ctx, plugin.Request{Node: "compute-node-4", Action: "reboot"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gfs2-home", "gfs2-proj"}, pcmktest.Sorted(res.Filesystems))
	assert.Equal(t, "pcs cluster cib", res.Details["config_source"])

	// A resources-only document cannot answer placement: next source.
	resOnly := pcmktest.ReadLab(t, "shared-lab", "gfs2-stack", "cibadmin-Q-resources.xml")
	ctx = scripted(t, resOnly).Script("pcs", plugintest.Output(cib), "cluster", "cib")
	res, err = Discover(ctx, plugin.Request{Node: "compute-node-4", Action: "reboot"})
	require.NoError(t, err)
	assert.Len(t, res.Filesystems, 2)
	assert.Contains(t, res.Details["config_failures"].([]string)[0], "no <configuration>")

	// Nothing works: the error quotes both attempts (real cibadmin stderr).
	stderr := string(pcmktest.Read(t, "..", "internal", "pcmk", "testdata", "cibadmin-no-cib.xml.stderr"))
	ctx = plugintest.NewContext(t).Allow("cibadmin", "pcs").
		Script("cibadmin", plugintest.Fail(105, stderr), cibadminArgs...).
		Script("pcs", plugintest.Fail(1, "Error: unable to get cib"), "cluster", "cib")
	_, err = Discover(ctx, plugin.Request{Node: "compute-node-4", Action: "reboot"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "status 105: Could not connect to the CIB")
	assert.Contains(t, err.Error(), "pcs cluster cib: command pcs exited with status 1: Error: unable to get cib")

	ctx = plugintest.NewContext(t).Allow("cibadmin").
		Script("cibadmin", plugintest.Output([]byte("<cib><configuration>")), cibadminArgs...)
	_, err = Discover(ctx, plugin.Request{Node: "compute-node-4", Action: "reboot"})
	assert.ErrorContains(t, err, "not valid XML")
}

// TestOptInAndColocation: an opt-in cluster where the DLM clone is enabled
// on fewer nodes than a gfs2 clone colocated with it (scenario made by
// plugins/internal/pcmk/testdata/placement/capture.sh; the scheduler placed
// gfs2-home on compute-node-3 only).
func TestOptInAndColocation(t *testing.T) {
	cib := pcmktest.Read(t, "..", "internal", "pcmk", "testdata", "placement", "opt-in", "cibadmin-Q-configuration.xml")
	res, err := Discover(scripted(t, cib), plugin.Request{Node: "compute-node-3", Action: "reboot"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gfs2-home"}, res.Filesystems)

	res, err = Discover(scripted(t, cib), plugin.Request{Node: "compute-node-30", Action: "reboot"})
	require.NoError(t, err)
	assert.Empty(t, res.Filesystems)
	reasons := map[string]string{}
	for _, e := range detailList(res, "excluded") {
		reasons[e["id"].(string)] = e["reason"].(string)
	}
	assert.Contains(t, reasons["gfs2-home"], "colocated")
	assert.Contains(t, reasons["gfs2-home"], "dlm-clone")
	assert.Contains(t, reasons["gfs2-proj"], "opt-in")
	assert.Equal(t, false, res.Details["dlm_may_run"])
}
