package host

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/execcap"
)

// headStartConfig makes the tester guest the built-in module and kubectl-nnf
// a strategy that runs `probe get x <node>`: a command that takes 300 ms,
// prints its arguments and leaves a marker file named after them.
func headStartConfig(t *testing.T) (cfg *config.Config, markers string) {
	t.Helper()
	cfg = testConfig(t)
	cfg.CacheDir = seededCache(t) // plans of its own
	require.NoError(t, os.MkdirAll(cfg.BuiltinDir, 0o755))
	copyFile(t, guest("tester"), filepath.Join(cfg.BuiltinDir, BuiltinModule), 0o644)
	markers = t.TempDir()
	cfg.Commands["probe"] = config.Command{Path: "/bin/sh", Timeout: 5 * time.Second,
		Args:   []string{"-c", `sleep 0.3; echo "args:$*"; touch "$MARKERS/$(printf %s "$*" | tr ' ' _)"`, "sh"},
		SetEnv: map[string]string{"MARKERS": markers}, OutputCap: 1 << 20}
	cfg.Strategies[config.StrategyKubectlNNF] = config.Strategy{Timeout: 5 * time.Second, MemoryLimit: config.DefaultMemoryLimit,
		Allow:  []string{"probe"},
		Config: map[string]any{"mode": "exec", "command": "probe", "args": []any{"get", "x"}, "node_arg": true, "filesystems": []any{"a/fs"}}}
	cfg.Discovery.Order = []string{config.StrategyKubectlNNF}
	return cfg, markers
}

func fenceWithHeadStart(t *testing.T, cfg *config.Config, node string, on bool) discovery.Attempt {
	t.Helper()
	src := NewSource(cfg, nil)
	src.HeadStart = on
	defer src.Close(context.Background())
	rep := discovery.Run(context.Background(), src, cfg.Discovery.Order, discovery.NewTarget(node, "off"), discovery.Options{})
	a := rep.Attempts[0]
	require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
	require.Len(t, a.Calls, 1)
	assert.Equal(t, "args:get x "+node+"\n", a.Details["stdout_head"], "the strategy got its own command's output")
	return a
}

// The first fence remembers the first command; the next one starts it for
// its own target while the module loads, and the strategy gets that result.
func TestHeadStartRunsTheRememberedCommandWhileTheModuleLoads(t *testing.T) {
	cfg, markers := headStartConfig(t)

	a := fenceWithHeadStart(t, cfg, "n1", true)
	assert.False(t, a.Calls[0].HeadStart, "nothing remembered yet")
	p, ok, _ := readPlan(cfg.CacheDir, config.StrategyKubectlNNF)
	require.True(t, ok)
	assert.Equal(t, probePlan(cfg, "probe", "get", "x", nodePlaceholder), p)

	a = fenceWithHeadStart(t, cfg, "n2", true)
	assert.True(t, a.Calls[0].HeadStart)
	// The guest waited less than the command's 300 ms sleep: it was running
	// before the guest asked.
	assert.Less(t, a.Calls[0].DurationMS, 299.0)
	assert.FileExists(t, filepath.Join(markers, "get_x_n2"))
	entries, _ := os.ReadDir(markers)
	assert.Len(t, entries, 2, "one run per fence, none extra")
}

// A remembered command the strategy does not ask for is killed, the
// strategy's own request runs, and the new first command is remembered.
func TestHeadStartThatDoesNotMatchIsEndedAndRelearned(t *testing.T) {
	cfg, markers := headStartConfig(t)
	// Warm the compile cache (learning nothing: head start off), so the
	// module loads well within the early command's 300 ms.
	fenceWithHeadStart(t, cfg, "n1", false)
	require.NoError(t, writePlan(cfg.CacheDir, config.StrategyKubectlNNF, probePlan(cfg, "probe", "get", "old", nodePlaceholder)))

	a := fenceWithHeadStart(t, cfg, "n2", true)
	assert.False(t, a.Calls[0].HeadStart)
	p, _, _ := readPlan(cfg.CacheDir, config.StrategyKubectlNNF)
	assert.Equal(t, probePlan(cfg, "probe", "get", "x", nodePlaceholder), p, "relearned")
	// The early `probe get old n2` was killed before its 300 ms sleep
	// ended, so it never left its marker (waiting longer can only let a
	// missed kill show).
	time.Sleep(500 * time.Millisecond)
	assert.NoFileExists(t, filepath.Join(markers, "get_old_n2"))
	assert.FileExists(t, filepath.Join(markers, "get_x_n2"))
}

// No head start when it is off, for a strategy loaded from another file
// than the built-in module (a site's commands need not be read-only), or
// for a command the strategy is no longer granted.
func TestHeadStartOnlyForBuiltinsThatMayRunTheCommand(t *testing.T) {
	cfg, _ := headStartConfig(t)
	remembered := probePlan(cfg, "probe", "get", "x", nodePlaceholder)
	require.NoError(t, writePlan(cfg.CacheDir, config.StrategyKubectlNNF, remembered))
	assert.False(t, fenceWithHeadStart(t, cfg, "n2", false).Calls[0].HeadStart, "off")

	cfg, _ = headStartConfig(t)
	require.NoError(t, writePlan(cfg.CacheDir, config.StrategyKubectlNNF, remembered))
	setStrategy(cfg, config.StrategyKubectlNNF, func(s *config.Strategy) { s.File = copyOf(t, guest("tester")) })
	assert.False(t, fenceWithHeadStart(t, cfg, "n2", true).Calls[0].HeadStart, "strategies.<name>.file")

	cfg, markers := headStartConfig(t)
	require.NoError(t, writePlan(cfg.CacheDir, config.StrategyKubectlNNF, probePlan(cfg, "probe2", "get", "x", nodePlaceholder)))
	cfg.Commands["probe2"] = cfg.Commands["probe"]
	a := fenceWithHeadStart(t, cfg, "n3", true)
	assert.False(t, a.Calls[0].HeadStart, "probe2 is not granted to the strategy")
	entries, _ := os.ReadDir(markers)
	assert.Len(t, entries, 1, "only the strategy's own command ran")
}

func TestPlanPlaceholderIsTheWholeNodeArgument(t *testing.T) {
	p := planOf(discovery.HostCall{Command: "kubectl", Args: []string{"get", "clientmounts", "-n", "compute-node-3", "--selector=compute-node-3"}},
		execcap.Command{Path: "/usr/bin/kubectl"}, "compute-node-3")
	assert.Equal(t, []string{"get", "clientmounts", "-n", nodePlaceholder, "--selector=compute-node-3"}, p.Args)
	assert.Equal(t, []string{"get", "clientmounts", "-n", "compute-node-30", "--selector=compute-node-3"}, p.argsFor("compute-node-30"))
}

// probePlan is a plan for the probe command as headStartConfig grants it.
func probePlan(cfg *config.Config, name string, args ...string) plan {
	c := cfg.Commands["probe"]
	return plan{Command: name, Path: c.Path, FixedArgs: c.Args, Args: args}
}

// A plan is run only as the strategy is granted now, and only from a
// private headstart directory: a planted plan (or one from another
// configuration) runs nothing and is logged.
func TestUnsafeOrUngrantedPlanIsIgnoredAndLogged(t *testing.T) {
	cases := map[string]struct {
		plant func(t *testing.T, cfg *config.Config)
		log   string
	}{
		"another program": {func(t *testing.T, cfg *config.Config) {
			p := probePlan(cfg, "probe", "get", "x", nodePlaceholder)
			p.Path = "/usr/bin/touch"
			require.NoError(t, writePlan(cfg.CacheDir, config.StrategyKubectlNNF, p))
		}, "not granted"},
		"other fixed arguments": {func(t *testing.T, cfg *config.Config) {
			p := probePlan(cfg, "probe", "get", "x", nodePlaceholder)
			p.FixedArgs = []string{"-c", "touch $MARKERS/planted", "sh"}
			require.NoError(t, writePlan(cfg.CacheDir, config.StrategyKubectlNNF, p))
		}, "not granted"},
		"headstart directory others can write": {func(t *testing.T, cfg *config.Config) {
			require.NoError(t, writePlan(cfg.CacheDir, config.StrategyKubectlNNF, probePlan(cfg, "probe", "planted", nodePlaceholder)))
			require.NoError(t, os.Chmod(filepath.Join(cfg.CacheDir, "headstart"), 0o777))
		}, "unsafe plan"},
		"plan is a symlink": {func(t *testing.T, cfg *config.Config) {
			other := filepath.Join(t.TempDir(), "plan.json")
			b, _ := json.Marshal(probePlan(cfg, "probe", "planted", nodePlaceholder))
			require.NoError(t, os.WriteFile(other, b, 0o600))
			require.NoError(t, os.MkdirAll(filepath.Join(cfg.CacheDir, "headstart"), 0o700))
			require.NoError(t, os.Symlink(other, planFile(cfg.CacheDir, config.StrategyKubectlNNF)))
		}, "unsafe plan"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg, markers := headStartConfig(t)
			c.plant(t, cfg)
			rec := &logRecorder{}
			src := NewSource(cfg, slog.New(rec))
			src.HeadStart = true
			defer src.Close(context.Background())

			rep := discovery.Run(context.Background(), src, cfg.Discovery.Order, discovery.NewTarget("n2", "off"), discovery.Options{})

			require.Equal(t, discovery.OutcomeFound, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
			assert.False(t, rep.Attempts[0].Calls[0].HeadStart)
			_, logged := rec.find(c.log)
			assert.True(t, logged, "the ignored plan is logged")
			entries, _ := os.ReadDir(markers)
			require.Len(t, entries, 1, "only the strategy's own command ran")
			assert.Equal(t, "get_x_n2", entries[0].Name())
		})
	}
}
