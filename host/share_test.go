package host

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
)

// Strategies served by one module (here alpha and beta of the multi guest,
// as the built-in module serves three) share one load and one instance, and
// each is called under its own name with its own config.
func TestStrategiesOfOneModuleShareOneLoad(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "alpha", guest("multi"), nil)
	addStrategy(cfg, "beta", guest("multi"), map[string]any{"filesystems": []any{"b/fs"}})
	src := NewSource(cfg, nil)
	defer src.Close(context.Background())

	rep := discovery.Run(context.Background(), src, cfg.Discovery.Order, discovery.NewTarget("n", "off"), discovery.Options{})

	require.Equal(t, []discovery.Outcome{discovery.OutcomeEmpty, discovery.OutcomeFound}, outcomes(rep), "%+v", rep.Attempts)
	assert.Equal(t, "alpha", rep.Attempts[0].Details["strategy"])
	assert.Equal(t, "beta", rep.Attempts[1].Details["strategy"])
	assert.Equal(t, []string{"b/fs"}, rep.Filesystems)
	src.mu.Lock()
	assert.Len(t, src.loads, 1, "one module load for both strategies")
	src.mu.Unlock()
	a, err := src.Strategy(context.Background(), "alpha")
	require.NoError(t, err)
	b, err := src.Strategy(context.Background(), "beta")
	require.NoError(t, err)
	assert.Same(t, a.(*strategy).mod, b.(*strategy).mod)
}

// Sharing an instance shares no rights: each call runs under the grants of
// the strategy the host called.
func TestSharedModuleKeepsGrantsPerStrategy(t *testing.T) {
	cfg := testConfig(t)
	cfg.Commands["true"] = config.Command{Path: "/bin/true", Timeout: time.Second}
	addStrategy(cfg, "alpha", guest("multi"), map[string]any{"command": "true", "filesystems": []any{"a/fs"}}, "true")
	addStrategy(cfg, "beta", guest("multi"), map[string]any{"command": "true", "filesystems": []any{"b/fs"}})
	src := NewSource(cfg, nil)
	defer src.Close(context.Background())

	for _, c := range []struct {
		name    string
		outcome discovery.Outcome
	}{{"beta", discovery.OutcomeDenied}, {"alpha", discovery.OutcomeFound}, {"beta", discovery.OutcomeDenied}} {
		s, err := src.Strategy(context.Background(), c.name)
		require.NoError(t, err)
		a := s.Discover(context.Background(), discovery.Target{Node: "n", Action: "off"})
		assert.Equal(t, c.outcome, a.Outcome, "%s: %s", c.name, a.Error)
		require.Len(t, a.Calls, 1, c.name)
		assert.Equal(t, c.outcome == discovery.OutcomeDenied, a.Calls[0].Denied, c.name)
	}
}

// A strategy that crashes the shared instance costs the others nothing but
// a fresh instance.
func TestCrashInASharedModuleGivesTheNextCallAFreshInstance(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "alpha", guest("multi"), nil)
	addStrategy(cfg, "beta", guest("multi"), map[string]any{"filesystems": []any{"b/fs"}})
	src := NewSource(cfg, nil)
	defer src.Close(context.Background())
	alpha, err := src.Strategy(context.Background(), "alpha")
	require.NoError(t, err)
	beta, err := src.Strategy(context.Background(), "beta")
	require.NoError(t, err)
	m := alpha.(*strategy).mod
	first := m.inst

	a := alpha.Discover(context.Background(), discovery.Target{Node: "panic", Action: "off"})
	require.Equal(t, discovery.OutcomeCrashed, a.Outcome)
	assert.Contains(t, a.Error, "panic: boom from alpha")
	assert.Nil(t, m.inst, "the crashed instance is closed for everyone")

	a = beta.Discover(context.Background(), discovery.Target{Node: "n", Action: "off"})
	require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
	assert.NotSame(t, first, m.inst)
}

// wazero fixes the memory limit per runtime, so one file under two limits
// is two modules.
func TestDifferentMemoryLimitsDoNotShare(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "alpha", guest("multi"), nil)
	addStrategy(cfg, "beta", guest("multi"), nil)
	setStrategy(cfg, "beta", func(s *config.Strategy) { s.MemoryLimit = 2 * config.DefaultMemoryLimit })
	src := NewSource(cfg, nil)
	defer src.Close(context.Background())
	a, err := src.Strategy(context.Background(), "alpha")
	require.NoError(t, err)
	b, err := src.Strategy(context.Background(), "beta")
	require.NoError(t, err)
	assert.NotSame(t, a.(*strategy).mod, b.(*strategy).mod)
}

// A module that serves several strategies answers only as one of them:
// plugins list and monitor say so before a fence, and on the fence path the
// guest refuses the call with the names it serves.
func TestModuleServesOnlyTheStrategiesItLists(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "alpha", guest("multi"), nil)
	addStrategy(cfg, "beta", guest("multi"), nil)
	addStrategy(cfg, "gamma", guest("multi"), nil)

	st := Inspect(context.Background(), cfg, nil)
	require.Len(t, st, 3)
	assert.NoError(t, st[0].Err)
	assert.Equal(t, []string{"alpha", "beta"}, st[0].Strategies)
	assert.Equal(t, "alpha", st[0].GuestName)
	assert.False(t, st[0].Shared)
	assert.NoError(t, st[1].Err)
	assert.True(t, st[1].Shared, "beta reuses alpha's module")
	assert.Equal(t, st[0].CompileTime, st[1].CompileTime)
	assert.ErrorContains(t, st[2].Err, "the module serves strategies alpha, beta, not gamma")
	assert.ErrorContains(t, Verify(context.Background(), cfg), "strategy gamma: ")

	rep := runChain(t, cfg, "n", nil)
	require.Equal(t, discovery.OutcomeError, rep.Attempts[2].Outcome)
	assert.Equal(t, `plugin: this module serves alpha, beta; not "gamma"`, rep.Attempts[2].Error)
}

// A failed load hands out no strategy at all: a nil interface, not one
// holding a nil pointer that a caller's nil check would miss.
func TestFailedLoadIsANilStrategy(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "gone", "/nonexistent/gone.wasm", nil)
	src := NewSource(cfg, nil)
	defer src.Close(context.Background())
	st, err := src.Strategy(context.Background(), "gone")
	require.Error(t, err)
	assert.True(t, st == nil, "Strategy returned %#v", st)
	st, err = src.LoadFile(context.Background(), "gone", "/nonexistent/gone.wasm")
	require.Error(t, err)
	assert.True(t, st == nil, "LoadFile returned %#v", st)
}

// A hedge served by the module whose instance a slow strategy holds runs
// on an instance of its own and answers; stopping the slow strategy kills
// its command's process group.
func TestHedgeOfTheSameModuleRunsOnItsOwnInstanceAndStoppingKillsTheCommand(t *testing.T) {
	cfg := testConfig(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	cfg.Commands["hang"] = shCommand(`echo $$ > "$1"; exec sleep 60`, pidFile)
	cfg.Commands["hang"] = func(c config.Command) config.Command { c.Timeout = time.Minute; return c }(cfg.Commands["hang"])
	addStrategy(cfg, "alpha", guest("multi"), map[string]any{"command": "hang", "filesystems": []any{"a/fs"}}, "hang")
	addStrategy(cfg, "beta", guest("multi"), map[string]any{"filesystems": []any{"b/fs"}})
	setStrategy(cfg, "alpha", func(s *config.Strategy) { s.Timeout = time.Minute })
	src := NewSource(cfg, nil)
	defer src.Close(context.Background())

	c := discovery.Start(context.Background(), src, cfg.Discovery.Order, discovery.NewTarget("n", "reboot"),
		discovery.Options{Budget: time.Minute, HedgeAfter: 20 * time.Millisecond})
	var snap discovery.Report
	require.Eventually(t, func() bool { snap = c.Snapshot(); return snap.Strategy != "" }, 30*time.Second, 10*time.Millisecond)
	assert.Equal(t, "beta", snap.Strategy)
	assert.Equal(t, []string{"b/fs"}, snap.Filesystems)
	assert.Equal(t, []string{"alpha"}, snap.Pending)
	assert.Equal(t, 1, snap.HedgesStarted)

	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, 30*time.Second, 10*time.Millisecond)
	c.Stop()
	assert.Eventually(t, func() bool { return syscall.Kill(pid, 0) != nil }, 30*time.Second, 10*time.Millisecond,
		"the stopped strategy's command is killed")

	// The module's own instance is usable again after the stop.
	a, err := src.Strategy(context.Background(), "beta")
	require.NoError(t, err)
	got := a.Discover(context.Background(), discovery.NewTarget("n", "reboot"))
	assert.Equal(t, discovery.OutcomeFound, got.Outcome, got.Error)
}
