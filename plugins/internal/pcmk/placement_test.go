package pcmk

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/pcmk/pcmktest"
)

func mustTree(t *testing.T, doc string) *Element {
	t.Helper()
	el, err := ParseTree([]byte(doc))
	require.NoError(t, err)
	return el
}

func TestEvalRule(t *testing.T) {
	node := Node{ID: "3", Uname: "compute-node-3", Attrs: map[string]string{"rack": "r7", "gen": "10"}}
	cases := []struct {
		rule string
		want Truth
	}{
		{`<rule><expression attribute="#uname" operation="eq" value="compute-node-3"/></rule>`, True},
		{`<rule><expression attribute="#uname" operation="eq" value="compute-node-30"/></rule>`, False},
		{`<rule><expression attribute="#uname" operation="ne" value="compute-node-30"/></rule>`, True},
		{`<rule><expression attribute="#id" operation="eq" value="3"/></rule>`, True},
		{`<rule><expression attribute="#kind" operation="eq" value="cluster"/></rule>`, True},
		{`<rule><expression attribute="rack" operation="eq" value="r7"/></rule>`, True},
		{`<rule><expression attribute="gen" operation="gt" value="9"/></rule>`, True},
		{`<rule><expression attribute="gen" operation="gt" value="9" type="string"/></rule>`, False},
		{`<rule><expression attribute="gen" operation="lte" value="10.0" type="number"/></rule>`, True},
		{`<rule><expression attribute="gen" operation="lt" value="10.2" type="version"/></rule>`, True},
		{`<rule><expression attribute="rack" operation="defined"/></rule>`, True},
		// Not a permanent attribute: it may be transient, so unknown.
		{`<rule><expression attribute="gpu" operation="eq" value="yes"/></rule>`, Unknown},
		{`<rule><expression attribute="rack" operation="eq" value="x" value-source="param"/></rule>`, Unknown},
		{`<rule><expression attribute="rack" operation="regex" value="r.*"/></rule>`, Unknown},
		{`<rule><date_expression operation="in_range" start="2020-01-01"/></rule>`, Unknown},
		{`<rule boolean-op="or"><expression attribute="#uname" operation="eq" value="a"/><expression attribute="#uname" operation="eq" value="compute-node-3"/></rule>`, True},
		{`<rule boolean-op="or"><expression attribute="#uname" operation="eq" value="a"/><date_expression operation="in_range"/></rule>`, Unknown},
		{`<rule boolean-op="and"><expression attribute="#uname" operation="eq" value="a"/><date_expression operation="in_range"/></rule>`, False},
		{`<rule boolean-op="and"><rule><expression attribute="#uname" operation="eq" value="compute-node-3"/></rule><expression attribute="rack" operation="ne" value="r1"/></rule>`, True},
		{`<rule/>`, True},
		{`<rule id-ref="elsewhere"/>`, Unknown},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, EvalRule(mustTree(t, c.rule), node), c.rule)
	}
}

const placementCIB = `<cib><configuration>
  <crm_config><cluster_property_set id="o"/></crm_config>
  <nodes>
    <node id="3" uname="compute-node-3"/>
    <node id="30" uname="compute-node-30"><instance_attributes id="n30"><nvpair id="n30s" name="standby" value="on"/></instance_attributes></node>
  </nodes>
  <resources>
    <clone id="dlm-clone"><primitive id="dlm" class="ocf" provider="pacemaker" type="controld"/></clone>
    <clone id="fs-clone"><primitive id="fs" class="ocf" provider="heartbeat" type="Filesystem"/></clone>
    <primitive id="solo" class="ocf" provider="heartbeat" type="Filesystem"/>
  </resources>
  <constraints>
    <rsc_colocation id="col" rsc="fs-clone" with-rsc="dlm-clone" score="INFINITY"/>
  </constraints>
</configuration></cib>`

func TestMayRun(t *testing.T) {
	base, err := ParseCIB([]byte(placementCIB))
	require.NoError(t, err)
	fs, solo := base.Resources["fs"], base.Resources["solo"]

	assert.True(t, base.MayRun(fs, "compute-node-3").MayRun)
	assert.True(t, base.MayRun(solo, "compute-node-3").MayRun)
	// Standby is operational state: a node put in standby can still be
	// fenced while stopping its filesystems, so it does not exclude.
	assert.True(t, base.MayRun(fs, "compute-node-30").MayRun)

	p := base.MayRun(fs, "compute-node-300")
	assert.False(t, p.MayRun)
	assert.Contains(t, p.Reason, "not in the CIB")

	ban := func(loc Location) *CIB {
		c, err := ParseCIB([]byte(placementCIB))
		require.NoError(t, err)
		c.Locations = append(c.Locations, loc)
		return c
	}
	// A ban on the clone, on the colocated DLM, by rule, or by node.
	c := ban(Location{ID: "b1", Resources: []string{"fs-clone"}, Node: "compute-node-3", Score: "-INFINITY"})
	p = c.MayRun(c.Resources["fs"], "compute-node-3")
	assert.False(t, p.MayRun)
	assert.False(t, p.Disabled)
	assert.Contains(t, p.Reason, "b1")
	assert.True(t, c.MayRun(c.Resources["fs"], "compute-node-30").MayRun, "a ban names one node exactly")

	c = ban(Location{ID: "b2", Resources: []string{"dlm-clone"}, Node: "compute-node-3", Score: "-INFINITY"})
	p = c.MayRun(c.Resources["fs"], "compute-node-3")
	assert.False(t, p.MayRun)
	assert.Contains(t, p.Reason, "colocated (col) with dlm-clone")
	assert.True(t, c.MayRun(c.Resources["solo"], "compute-node-3").MayRun)

	rule := mustTree(t, `<rule id="r" score="-INFINITY"><expression attribute="#uname" operation="eq" value="compute-node-3"/></rule>`)
	c = ban(Location{ID: "b3", Resources: []string{"solo"}, Rules: []*Element{rule}})
	assert.False(t, c.MayRun(c.Resources["solo"], "compute-node-3").MayRun)
	assert.True(t, c.MayRun(c.Resources["solo"], "compute-node-30").MayRun)

	// A negative but finite score is a preference, not a ban.
	c = ban(Location{ID: "b4", Resources: []string{"solo"}, Node: "compute-node-3", Score: "-100"})
	assert.True(t, c.MayRun(c.Resources["solo"], "compute-node-3").MayRun)
	// A role-specific ban only limits promotion.
	c = ban(Location{ID: "b5", Resources: []string{"solo"}, Node: "compute-node-3", Score: "-INFINITY", Role: "Promoted"})
	assert.True(t, c.MayRun(c.Resources["solo"], "compute-node-3").MayRun)

	promotedRule := mustTree(t, `<rule id="p" role="Promoted" score="-INFINITY"><expression attribute="#uname" operation="eq" value="compute-node-3"/></rule>`)
	c = ban(Location{ID: "b5r", Resources: []string{"solo"}, Rules: []*Element{promotedRule}})
	assert.True(t, c.MayRun(c.Resources["solo"], "compute-node-3").MayRun)

	// Unevaluable rules are reported, and do not ban.
	dateRule := mustTree(t, `<rule id="d" score="-INFINITY"><date_expression id="x" operation="in_range"/></rule>`)
	c = ban(Location{ID: "b6", Resources: []string{"solo"}, Rules: []*Element{dateRule}})
	p = c.MayRun(c.Resources["solo"], "compute-node-3")
	assert.True(t, p.MayRun)
	assert.Equal(t, []string{"b6"}, p.Unevaluated)

	// Opt-in cluster: only where a location enables it.
	c = ban(Location{ID: "en", Resources: []string{"solo"}, Node: "compute-node-3", Score: "100"})
	c.Props["symmetric-cluster"] = "false"
	assert.True(t, c.MayRun(c.Resources["solo"], "compute-node-3").MayRun)
	p = c.MayRun(c.Resources["fs"], "compute-node-3")
	assert.False(t, p.MayRun)
	assert.Contains(t, p.Reason, "opt-in")

	// Disabled: target-role on the clone, or stop-all-resources.
	c = ban(Location{})
	c.Resources["fs-clone"].Meta["target-role"] = "stopped"
	p = c.MayRun(c.Resources["fs"], "compute-node-3")
	assert.True(t, p.Disabled)
	assert.Contains(t, p.Reason, "fs-clone")
	c = ban(Location{})
	c.Props["stop-all-resources"] = "true"
	assert.True(t, c.MayRun(c.Resources["solo"], "compute-node-3").Disabled)
}

func TestMayRunColocationCycle(t *testing.T) {
	c, err := ParseCIB([]byte(placementCIB))
	require.NoError(t, err)
	c.Colocations = append(c.Colocations, Colocation{ID: "back", Rsc: "dlm-clone", WithRsc: "fs-clone", Score: "INFINITY"})
	assert.True(t, c.MayRun(c.Resources["fs"], "compute-node-3").MayRun, "a colocation cycle terminates")
}

// TestRunningImpliesMayRun checks the static reading against Pacemaker's
// own placement on every captured scenario: whatever crm_mon shows active
// on a node, the configuration must allow there.
func TestRunningImpliesMayRun(t *testing.T) {
	checked := 0
	for scenario := range pcmktest.Expectations(t) {
		cibData, err1 := os.ReadFile(filepath.Join(pcmktest.LabDir, scenario, "cibadmin-Q.xml"))
		monData, err2 := os.ReadFile(filepath.Join(pcmktest.LabDir, scenario, "crm_mon-1-xml-inactive.xml"))
		if err1 != nil || err2 != nil {
			continue // scenario still being captured
		}
		cib, err := ParseCIB(cibData)
		require.NoError(t, err, scenario)
		st, err := ParseCrmMon(monData)
		require.NoError(t, err, scenario)
		for _, in := range st.Instances {
			for _, node := range in.Nodes {
				if !in.Active || in.Orphaned {
					continue
				}
				r := cib.Resources[in.ID]
				require.NotNil(t, r, "%s: %s", scenario, in.ID)
				p := cib.MayRun(r, node)
				assert.True(t, p.MayRun, "%s: %s runs on %s but config says: %s", scenario, in.ID, node, p.Reason)
				checked++
			}
		}
	}
	assert.Greater(t, checked, 10)
}

// TestMayRunAgreesWithScheduler compares the static reading with where
// Pacemaker's scheduler really placed each cloned Filesystem, on every
// online, non-standby node: for clones without instance limits the two
// must be equal. Scenarios: testdata/placement (rules on node attributes,
// or-rules, a banned DLM clone with colocations, an opt-in cluster; made by
// capture.sh with pcs -f and crm_simulate) and the captured lab scenarios.
func TestMayRunAgreesWithScheduler(t *testing.T) {
	type pair struct{ cib, mon string }
	var cases []pair
	own, _ := filepath.Glob(filepath.Join("testdata", "placement", "*", "cib.xml"))
	for _, c := range own {
		d := filepath.Dir(c)
		cases = append(cases, pair{filepath.Join(d, "cibadmin-Q-configuration.xml"), filepath.Join(d, "crm_mon-status.xml")})
	}
	lab, _ := filepath.Glob(filepath.Join(pcmktest.LabDir, "*", "cibadmin-Q-configuration.xml"))
	for _, c := range lab {
		cases = append(cases, pair{c, filepath.Join(filepath.Dir(c), "crm_mon-1-xml-inactive.xml")})
	}
	compared, excluded := 0, 0
	for _, c := range cases {
		name := filepath.Base(filepath.Dir(c.cib))
		cibData, err1 := os.ReadFile(c.cib)
		monData, err2 := os.ReadFile(c.mon)
		if err1 != nil || err2 != nil {
			continue
		}
		cib, err := ParseCIB(cibData)
		require.NoError(t, err, name)
		st, err := ParseCrmMon(monData)
		require.NoError(t, err, name)
		for _, n := range st.Nodes {
			if !n.Online || n.Standby {
				continue
			}
			running := map[string]bool{}
			for _, in := range st.ActiveOn(n.Name) {
				running[in.ID] = true
			}
			for _, p := range cib.Primitives {
				if !p.IsFilesystem() || p.Clone() == "" {
					continue
				}
				pl := cib.MayRun(p, n.Name)
				assert.Equal(t, running[p.ID], pl.MayRun, "%s: %s on %s (static: %q)", name, p.ID, n.Name, pl.Reason)
				compared++
				if !pl.MayRun {
					excluded++
				}
			}
		}
	}
	t.Logf("compared %d node/filesystem pairs, %d excluded", compared, excluded)
	assert.Greater(t, compared, 40)
	assert.Greater(t, excluded, 8, "the scenarios exercise exclusions")
}
