package pcsstatus

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/pcmk/pcmktest"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin/plugintest"
)

var (
	crmMonArgs   = statusCommands[0].Args
	cibadminArgs = configCommands[0].Args
)

// scripted returns a context where crm_mon and cibadmin print the given
// real outputs for exactly the arguments the strategy must use.
func scripted(t *testing.T, crmMon, cib []byte) *plugintest.Context {
	return plugintest.NewContext(t).Allow("crm_mon", "cibadmin", "pcs").
		Script("crm_mon", plugintest.Output(crmMon), crmMonArgs...).
		Script("cibadmin", plugintest.Output(cib), cibadminArgs...)
}

// TestScenarios runs the strategy on every captured scenario and node and
// compares with the README/expected.json of testdata/pacemaker.
func TestScenarios(t *testing.T) {
	tested := 0
	for scenario, e := range pcmktest.Expectations(t) {
		dir := filepath.Join(pcmktest.LabDir, scenario)
		mon, err1 := os.ReadFile(filepath.Join(dir, "crm_mon-1-xml-inactive.xml"))
		cib, err2 := os.ReadFile(filepath.Join(dir, "cibadmin-Q.xml"))
		if err1 != nil || err2 != nil {
			t.Logf("%s: not captured yet", scenario)
			continue
		}
		for node, want := range e.Active {
			t.Run(scenario+"/"+node, func(t *testing.T) {
				ctx := scripted(t, mon, cib)
				res, err := Discover(ctx, plugin.Request{Node: node, Action: "reboot"})
				require.NoError(t, err)
				assert.Equal(t, pcmktest.Sorted(want), pcmktest.Sorted(res.Filesystems))
				if dlm, ok := e.DLMActive[node]; ok {
					assert.Equal(t, dlm, res.Details["dlm_active"])
				}
				calls := ctx.Calls()
				assert.Equal(t, "crm_mon", calls[0].Name)
				if len(want) == 0 {
					// Nothing mounted there: one process answered.
					if _, other := res.Details["other_filesystems"]; !other {
						assert.Len(t, calls, 1)
					}
				} else {
					assert.Len(t, calls, 2)
					for _, r := range res.Details["resources"].([]map[string]any) {
						assert.Equal(t, "gfs2", r["fstype"])
						assert.NotEmpty(t, r["device"])
						assert.NotEmpty(t, r["directory"])
					}
				}
			})
			tested++
		}
	}
	assert.GreaterOrEqual(t, tested, 15, "scenario nodes tested")
}

func TestSharedLab(t *testing.T) {
	dir := filepath.Join(pcmktest.LabDir, "shared-lab", "gfs2-stack")
	mon := pcmktest.Read(t, dir, "crm_mon-1-xml-inactive-fencehistory.xml")
	cib := pcmktest.Read(t, dir, "cibadmin-Q-resources.xml")

	// rabbit-node-1 runs dlm (a Dummy called dlm) and a tmpfs Filesystem.
	ctx := scripted(t, mon, cib)
	res, err := Discover(ctx, plugin.Request{Node: "rabbit-node-1", Action: "reboot"})
	require.NoError(t, err)
	assert.Empty(t, res.Filesystems)
	assert.Equal(t, true, res.Details["dlm_active"])
	assert.Equal(t, []string{"dlm"}, res.Details["dlm_resources"])
	assert.Equal(t, []string{"scratchfs"}, res.Details["other_filesystems"])
	assert.Equal(t, true, res.Details["node_online"])

	// The fstypes setting widens what counts.
	ctx = scripted(t, mon, cib)
	res, err = Discover(ctx, plugin.Request{Node: "rabbit-node-1", Action: "reboot",
		Config: map[string]any{"fstypes": []any{"gfs2", "tmpfs"}}})
	require.NoError(t, err)
	assert.Equal(t, []string{"scratchfs"}, res.Filesystems)
	r := res.Details["resources"].([]map[string]any)[0]
	assert.Equal(t, "/mnt/scratch", r["directory"])
	assert.Equal(t, "scratch-clone", r["clone"])
	assert.Equal(t, "Started", r["role"])

	// Offline compute-node-3 runs nothing: one crm_mon call, no cibadmin.
	ctx = scripted(t, mon, cib)
	res, err = Discover(ctx, plugin.Request{Node: "compute-node-3", Action: "off"})
	require.NoError(t, err)
	assert.Empty(t, res.Filesystems)
	assert.Equal(t, false, res.Details["dlm_active"])
	assert.Equal(t, false, res.Details["node_online"])
	assert.Len(t, ctx.Calls(), 1)

	// A name that only prefixes a cluster node is not that node.
	ctx = scripted(t, mon, cib)
	res, err = Discover(ctx, plugin.Request{Node: "rabbit-node-10", Action: "off"})
	require.NoError(t, err)
	assert.Empty(t, res.Filesystems)
	assert.Equal(t, false, res.Details["node_in_cluster"])
	assert.Equal(t, false, res.Details["dlm_active"])
}

func TestFallsBackToPcs(t *testing.T) {
	pcsStatus := pcmktest.ReadLab(t, "location-ban", "pcs-status-xml.xml")
	pcsCIB := pcmktest.ReadLab(t, "location-ban", "cibadmin-Q.xml")

	// Neither crm_mon nor cibadmin granted: pcs gives the same documents.
	ctx := plugintest.NewContext(t).Allow("pcs").
		Script("pcs", plugintest.Output(pcsStatus), "status", "xml").
		Script("pcs", plugintest.Output(pcsCIB), "cluster", "cib")
	res, err := Discover(ctx, plugin.Request{Node: "compute-node-3", Action: "reboot"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gfs2-home"}, res.Filesystems)
	assert.Equal(t, "pcs status xml", res.Details["status_source"])
	assert.Equal(t, "pcs cluster cib", res.Details["config_source"])
	failures := res.Details["status_failures"].([]string)
	require.Len(t, failures, 1)
	assert.Contains(t, failures[0], "not allowed")

	// crm_mon runs but fails (real output for an unreadable CIB).
	noCIB := pcmktest.Read(t, "..", "internal", "pcmk", "testdata", "crm_mon-no-cib.xml")
	ctx = plugintest.NewContext(t).Allow("crm_mon", "pcs", "cibadmin").
		Script("crm_mon", plugintest.Output(noCIB), crmMonArgs...).
		Script("pcs", plugintest.Output(pcsStatus), "status", "xml").
		Script("cibadmin", plugintest.Output(pcsCIB), cibadminArgs...)
	res, err = Discover(ctx, plugin.Request{Node: "compute-node-30", Action: "reboot"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gfs2-proj"}, res.Filesystems)
	assert.Contains(t, res.Details["status_failures"].([]string)[0], "Could not connect to the CIB")
}

func TestErrors(t *testing.T) {
	mon := pcmktest.ReadLab(t, "location-ban", "crm_mon-1-xml-inactive.xml")
	noCIBStderr := string(pcmktest.Read(t, "..", "internal", "pcmk", "testdata", "cibadmin-no-cib.xml.stderr"))

	// No status source works: an error naming every attempt.
	ctx := plugintest.NewContext(t).Allow("crm_mon", "pcs").
		Script("crm_mon", plugintest.Fail(102, "crm_mon: Connection to cluster failed"), crmMonArgs...).
		Script("pcs", plugintest.Response{Err: errors.New("exec: /usr/sbin/pcs: no such file")})
	_, err := Discover(ctx, plugin.Request{Node: "compute-node-3", Action: "reboot"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot read Pacemaker status")
	assert.Contains(t, err.Error(), "status 102: crm_mon: Connection to cluster failed")
	assert.Contains(t, err.Error(), "pcs status xml: exec: /usr/sbin/pcs: no such file")
	assert.Contains(t, err.Error(), "pcs status resources: exec: /usr/sbin/pcs: no such file")

	// Filesystems are active but the CIB cannot be read: not a silent
	// empty answer, the error says which resources are unaccounted for.
	ctx = plugintest.NewContext(t).Allow("crm_mon", "cibadmin").
		Script("crm_mon", plugintest.Output(mon), crmMonArgs...).
		Script("cibadmin", plugintest.Fail(105, noCIBStderr), cibadminArgs...)
	_, err = Discover(ctx, plugin.Request{Node: "compute-node-3", Action: "reboot"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gfs2-home")
	assert.Contains(t, err.Error(), "Could not connect to the CIB")
	assert.Contains(t, err.Error(), "pcs cluster cib: not allowed")

	// Garbage, truncation and timeouts are failures, never empty answers.
	for name, resp := range map[string]plugintest.Response{
		"garbage":   plugintest.Output([]byte("Segmentation fault")),
		"timeout":   plugintest.Timeout(),
		"truncated": {Result: plugin.ExecResult{Stdout: mon[:len(mon)/2], StdoutTruncated: true}},
		"cut":       plugintest.Output(mon[:len(mon)/2]),
	} {
		ctx = plugintest.NewContext(t).Allow("crm_mon").Script("crm_mon", resp, crmMonArgs...)
		_, err = Discover(ctx, plugin.Request{Node: "compute-node-3", Action: "reboot"})
		assert.Error(t, err, name)
	}
}

// TestTextFallback: no XML status at all, but `pcs status resources` text
// (plus the CIB for the collapsed clone lines) still answers, here at fence
// time for the lost node.
func TestTextFallback(t *testing.T) {
	dir := filepath.Join(pcmktest.LabDir, "node-lost")
	text := pcmktest.Read(t, dir, "pcs-status-resources.txt")
	cib := pcmktest.Read(t, dir, "cibadmin-Q.xml")
	ctx := plugintest.NewContext(t).Allow("crm_mon", "pcs", "cibadmin").
		Script("crm_mon", plugintest.Fail(64, "crm_mon: unrecognized option '--output-as=xml'"), crmMonArgs...).
		Script("pcs", plugintest.Output([]byte("Segmentation fault")), "status", "xml").
		Script("pcs", plugintest.Output(text), "status", "resources").
		Script("cibadmin", plugintest.Output(cib), cibadminArgs...)
	res, err := Discover(ctx, plugin.Request{Node: "compute-node-3", Action: "reboot"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gfs2-home", "gfs2-proj"}, pcmktest.Sorted(res.Filesystems))
	assert.Equal(t, "pcs status resources", res.Details["status_source"])
	assert.Equal(t, true, res.Details["dlm_active"])
	assert.Equal(t, []string{"xfs-scratch"}, res.Details["other_filesystems"])
	assert.Len(t, res.Details["status_failures"], 2)
	assert.Len(t, ctx.Calls(), 4, "the CIB is read once")

	// The text is strict: an unknown line is an error, not a guess.
	ctx = plugintest.NewContext(t).Allow("pcs", "cibadmin").
		Script("pcs", plugintest.Fail(1, "Error: unable to get cib"), "status", "xml").
		Script("pcs", plugintest.Output(append(text, "  * Bundle Set: web [registry/httpd]:\n"...)), "status", "resources").
		Script("cibadmin", plugintest.Output(cib), cibadminArgs...)
	_, err = Discover(ctx, plugin.Request{Node: "compute-node-3", Action: "reboot"})
	assert.ErrorContains(t, err, "Bundle Set")
}

// TestFailedFilesystem: the usual reason a compute node is fenced is a
// failed gfs2 monitor (on-fail=fence) or a failed stop. crm_mon still
// reports the resource active (FAILED) there, and so must the answer.
// Fixtures: plugins/internal/pcmk/testdata/failures (crm_simulate --op-inject).
func TestFailedFilesystem(t *testing.T) {
	for _, scenario := range []string{"monitor-failed", "stop-failed"} {
		dir := filepath.Join("..", "internal", "pcmk", "testdata", "failures", scenario)
		t.Run(scenario, func(t *testing.T) {
			ctx := scripted(t, pcmktest.Read(t, dir, "crm_mon-status.xml"), pcmktest.Read(t, dir, "cibadmin-Q-resources.xml"))
			res, err := Discover(ctx, plugin.Request{Node: "compute-node-3", Action: "reboot"})
			require.NoError(t, err)
			assert.Equal(t, []string{"gfs2-home", "gfs2-proj"}, pcmktest.Sorted(res.Filesystems))
			failed := map[string]any{}
			for _, r := range res.Details["resources"].([]map[string]any) {
				failed[r["id"].(string)] = r["failed"]
			}
			assert.Equal(t, map[string]any{"gfs2-home": true, "gfs2-proj": false}, failed)

			// The same through the text fallback.
			ctx = plugintest.NewContext(t).Allow("pcs", "cibadmin").
				Script("pcs", plugintest.Fail(1, "Error: crm_mon failed"), "status", "xml").
				Script("pcs", plugintest.Output(pcmktest.Read(t, dir, "pcs-status-resources.txt")), "status", "resources").
				Script("cibadmin", plugintest.Output(pcmktest.Read(t, dir, "cibadmin-Q-resources.xml")), cibadminArgs...)
			res, err = Discover(ctx, plugin.Request{Node: "compute-node-3", Action: "reboot"})
			require.NoError(t, err)
			assert.Equal(t, []string{"gfs2-home", "gfs2-proj"}, pcmktest.Sorted(res.Filesystems))

			// Other nodes keep their own answer.
			ctx = scripted(t, pcmktest.Read(t, dir, "crm_mon-status.xml"), pcmktest.Read(t, dir, "cibadmin-Q-resources.xml"))
			res, err = Discover(ctx, plugin.Request{Node: "compute-node-4", Action: "reboot"})
			require.NoError(t, err)
			assert.Empty(t, res.Filesystems)
		})
	}
}

// TestConfigChangedBetweenReads: Filesystems active on the node but absent
// from the CIB (orphans, or the configuration changed between the two
// reads) cannot be classified: they are named in details, not guessed.
// Status from node-lost, CIB from disabled-clone (no gfs2-proj, xfs-scratch).
func TestConfigChangedBetweenReads(t *testing.T) {
	ctx := scripted(t, pcmktest.ReadLab(t, "node-lost", "crm_mon-1-xml-inactive.xml"),
		pcmktest.ReadLab(t, "disabled-clone", "cibadmin-Q.xml"))
	res, err := Discover(ctx, plugin.Request{Node: "compute-node-3", Action: "reboot"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gfs2-home"}, res.Filesystems)
	assert.Equal(t, []string{"gfs2-proj", "xfs-scratch"}, res.Details["unconfigured_filesystems"])
}
