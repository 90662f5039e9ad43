// Package hosttest runs the built pcs-status and pcs-config WebAssembly
// modules through the real host and discovery chain, against real Pacemaker
// tools reading captured CIBs (CIB_file), or against the captured outputs
// when the tools are not installed.
package hosttest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/host"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/pcmk/pcmktest"
)

var (
	wasmDir  string // builtin.wasm (the module serving every built-in strategy), built for this run
	cacheDir string // one compile cache: compile once per module
)

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "pcs-hosttest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wasmDir, cacheDir = filepath.Join(tmp, "wasm"), filepath.Join(tmp, "cache")
	code := 1
	if err := build(); err != nil {
		fmt.Fprintln(os.Stderr, "hosttest: building the guests:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(tmp)
	os.Exit(code)
}

// build compiles the built-in module exactly as `make plugins` does.
func build() error {
	out := filepath.Join(wasmDir, host.BuiltinModule)
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, "../../builtin")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("plugins/builtin: %v\n%s", err, b)
	}
	return os.Chmod(out, 0o644) // the host refuses writable modules
}

// chainConfig is the shipped defaults with the two pcs strategies loaded
// from this run's build and the given commands.
func chainConfig(t testing.TB, commands map[string]config.Command) *config.Config {
	cfg := config.Defaults()
	cfg.CacheDir = cacheDir
	cfg.BuiltinDir = wasmDir
	cfg.PluginDir = t.TempDir()
	cfg.Commands = commands
	cfg.Discovery.Order = []string{config.StrategyPcsStatus, config.StrategyPcsConfig}
	// pcs-status reads fstype with cibadmin when a Filesystem is active
	// (see plugins/pcs-status/README.md: a requested default).
	st := cfg.Strategies[config.StrategyPcsStatus]
	st.Allow = []string{"crm_mon", "cibadmin", "pcs"}
	cfg.Strategies[config.StrategyPcsStatus] = st
	return &cfg
}

// realTools grants the installed crm_mon and cibadmin, reading cib through
// CIB_file: real tools, real data, no cluster.
func realTools(t testing.TB, cib string) map[string]config.Command {
	for _, tool := range []string{"/usr/sbin/crm_mon", "/usr/sbin/cibadmin"} {
		if _, err := os.Stat(tool); err != nil {
			t.Skip("!!! " + tool + " not installed (apt-get install pacemaker-cli-utils): real-tool chain test SKIPPED !!!")
		}
	}
	// A private copy: nothing may touch the committed fixture.
	data, err := os.ReadFile(cib)
	require.NoError(t, err)
	cibCopy := filepath.Join(t.TempDir(), "cib.xml")
	require.NoError(t, os.WriteFile(cibCopy, data, 0o600))
	env := map[string]string{"CIB_file": cibCopy}
	cmd := func(path string) config.Command {
		return config.Command{Path: path, Args: []string{}, SetEnv: env, Timeout: 10 * time.Second, OutputCap: config.DefaultOutputCap}
	}
	return map[string]config.Command{"crm_mon": cmd("/usr/sbin/crm_mon"), "cibadmin": cmd("/usr/sbin/cibadmin")}
}

// printing grants commands that print captured outputs, ignoring the
// arguments the guest passes (the attempt record shows them).
func printing(files map[string]string) map[string]config.Command {
	out := map[string]config.Command{}
	for name, file := range files {
		abs, _ := filepath.Abs(file)
		out[name] = config.Command{Path: "/bin/sh", Args: []string{"-c", `exec cat "$0"`, abs},
			Timeout: 10 * time.Second, OutputCap: config.DefaultOutputCap}
	}
	return out
}

// capturedOutputs grants printing commands for a captured scenario dir:
// crm_mon prints its status, and each of cibCommands its CIB.
func capturedOutputs(dir string, cibCommands ...string) map[string]config.Command {
	files := map[string]string{"crm_mon": filepath.Join(dir, "crm_mon-1-xml-inactive.xml")}
	for _, name := range cibCommands {
		files[name] = filepath.Join(dir, "cibadmin-Q.xml")
	}
	return printing(files)
}

func run(t *testing.T, cfg *config.Config, node string) discovery.Report {
	src := host.NewSource(cfg, nil)
	t.Cleanup(func() { _ = src.Close(context.Background()) })
	return discovery.Run(context.Background(), src, cfg.Discovery.Order,
		discovery.NewTarget(node, "reboot"), discovery.Options{Budget: 30 * time.Second})
}

// checkChain asserts the chain's answer for one node: pcs-status wins when
// Pacemaker runs a gfs2 Filesystem there, else pcs-config when one may run
// there, else nothing.
func checkChain(t *testing.T, rep discovery.Report, active, configured []string) {
	t.Helper()
	require.Len(t, rep.Attempts, 2)
	for _, a := range rep.Attempts {
		require.NotContains(t, []discovery.Outcome{discovery.OutcomeError, discovery.OutcomeCrashed,
			discovery.OutcomeLoadError, discovery.OutcomeTimeout, discovery.OutcomeDenied}, a.Outcome,
			"%s: %s", a.Strategy, a.Error)
	}
	switch {
	case len(active) > 0:
		assert.Equal(t, config.StrategyPcsStatus, rep.Strategy)
		assert.Equal(t, pcmktest.Sorted(active), pcmktest.Sorted(rep.Filesystems))
		assert.Equal(t, discovery.OutcomeSkipped, rep.Attempts[1].Outcome)
	case len(configured) > 0:
		assert.Equal(t, discovery.OutcomeEmpty, rep.Attempts[0].Outcome)
		assert.Equal(t, config.StrategyPcsConfig, rep.Strategy)
		assert.Equal(t, pcmktest.Sorted(configured), pcmktest.Sorted(rep.Filesystems))
	default:
		assert.Equal(t, []string{discovery.NoneDetected}, rep.Filesystems)
	}
}

// TestChainRealTools: every captured scenario, every node, through the
// wasm guests, the host's exec and the real crm_mon/cibadmin.
func TestChainRealTools(t *testing.T) {
	tested := 0
	for scenario, e := range pcmktest.Expectations(t) {
		cib := filepath.Join(pcmktest.LabDir, scenario, "cib.xml")
		if _, err := os.Stat(cib); err != nil {
			t.Logf("%s: no cib.xml captured yet", scenario)
			continue
		}
		t.Run(scenario, func(t *testing.T) {
			cfg := chainConfig(t, realTools(t, cib))
			for node, active := range e.Active {
				rep := run(t, cfg, node)
				t.Run(node, func(t *testing.T) { checkChain(t, rep, active, e.Configured[node]) })
				// The status strategy asked crm_mon for nodes and resources only.
				calls := rep.Attempts[0].Calls
				require.NotEmpty(t, calls)
				assert.Equal(t, "crm_mon", calls[0].Command)
				assert.Equal(t, 0, calls[0].ExitCode)
			}
		})
		tested++
	}
	assert.GreaterOrEqual(t, tested, 5)
}

// TestChainFailedFilesystem: a failed gfs2 monitor or stop (why the node is
// fenced) through the wasm guest and the real tools.
func TestChainFailedFilesystem(t *testing.T) {
	for _, scenario := range []string{"monitor-failed", "stop-failed"} {
		t.Run(scenario, func(t *testing.T) {
			cib := filepath.Join("..", "pcmk", "testdata", "failures", scenario, "cib.xml")
			rep := run(t, chainConfig(t, realTools(t, cib)), "compute-node-3")
			require.Equal(t, config.StrategyPcsStatus, rep.Strategy, "%+v", rep.Attempts)
			assert.Equal(t, []string{"gfs2-home", "gfs2-proj"}, pcmktest.Sorted(rep.Filesystems))
		})
	}
}

// TestChainCapturedOutputs runs without Pacemaker installed: the commands
// print the captured outputs.
func TestChainCapturedOutputs(t *testing.T) {
	for _, scenario := range []string{"node-lost", "location-ban", "standby-none"} {
		dir := filepath.Join(pcmktest.LabDir, scenario)
		e := pcmktest.Expectations(t)[scenario]
		t.Run(scenario, func(t *testing.T) {
			cfg := chainConfig(t, capturedOutputs(dir, "cibadmin"))
			for node, active := range e.Active {
				rep := run(t, cfg, node)
				t.Run(node, func(t *testing.T) { checkChain(t, rep, active, e.Configured[node]) })
			}
		})
	}
}

// TestDetailsSurviveTheABI checks that the evidence a strategy gathers
// reaches the attempt record intact through the guest's encoder.
func TestDetailsSurviveTheABI(t *testing.T) {
	dir := filepath.Join(pcmktest.LabDir, "node-lost")
	cfg := chainConfig(t, capturedOutputs(dir, "cibadmin"))
	rep := run(t, cfg, "compute-node-3")
	a := rep.Attempts[0]
	require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
	assert.Equal(t, true, a.Details["dlm_active"])
	assert.Equal(t, false, a.Details["node_online"])
	assert.Equal(t, true, a.Details["node_unclean"])
	res, ok := a.Details["resources"].([]any)
	require.True(t, ok, "%T", a.Details["resources"])
	require.Len(t, res, 2)
	first := res[0].(map[string]any)
	assert.Equal(t, "gfs2", first["fstype"])
	assert.NotEmpty(t, first["directory"])
	require.Len(t, a.Calls, 2)
	assert.Equal(t, []string{"--one-shot", "--inactive", "--output-as=xml", "--include=none,nodes,resources"}, a.Calls[0].Args)
	assert.Equal(t, []string{"--query", "--scope=resources"}, a.Calls[1].Args)
}

// TestDefaultAllowListReadsFstypeWithCibadmin: the shipped allow-list
// grants pcs-status cibadmin, so fstype costs one cibadmin call, not a
// `pcs cluster cib` (0.4-1.5 s of Python per fence).
func TestDefaultAllowListReadsFstypeWithCibadmin(t *testing.T) {
	dir := filepath.Join(pcmktest.LabDir, "node-lost")
	cfg := chainConfig(t, capturedOutputs(dir, "cibadmin", "pcs"))
	cfg.Strategies[config.StrategyPcsStatus] = config.Defaults().Strategies[config.StrategyPcsStatus]
	rep := run(t, cfg, "compute-node-3")
	a := rep.Attempts[0]
	require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
	require.Len(t, a.Calls, 2)
	assert.Equal(t, "crm_mon", a.Calls[0].Command)
	assert.Equal(t, "cibadmin", a.Calls[1].Command)
	assert.False(t, a.Calls[1].Denied)
}

// TestWithoutCibadminFallsBackToPcs: a site that grants pcs-status only
// crm_mon and pcs still gets an answer, through `pcs cluster cib`.
func TestWithoutCibadminFallsBackToPcs(t *testing.T) {
	dir := filepath.Join(pcmktest.LabDir, "node-lost")
	cfg := chainConfig(t, capturedOutputs(dir, "cibadmin", "pcs"))
	s := config.Defaults().Strategies[config.StrategyPcsStatus]
	s.Allow = []string{"crm_mon", "pcs"}
	cfg.Strategies[config.StrategyPcsStatus] = s
	rep := run(t, cfg, "compute-node-3")
	a := rep.Attempts[0]
	require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
	assert.Equal(t, "pcs cluster cib", a.Details["config_source"])
	require.Len(t, a.Calls, 3)
	assert.True(t, a.Calls[1].Denied)
	assert.Equal(t, "pcs", a.Calls[2].Command)
}
