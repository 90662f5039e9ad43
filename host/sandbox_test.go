package host

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
)

// A guest that never returns is stopped at its own timeout, and the chain
// goes on to the next strategy.
func TestInfiniteLoopIsStoppedAtItsDeadline(t *testing.T) {
	const timeout = 300 * time.Millisecond
	// Each case gets the subtest's t: a skip on the parent's t from inside
	// a subtest is a FailNow on the wrong test.
	cases := map[string]func(t *testing.T, cfg *config.Config){
		"go guest": func(t *testing.T, cfg *config.Config) {
			addStrategy(cfg, "looper", guest("tester"), map[string]any{"mode": "loop"})
		},
		"wat guest": func(t *testing.T, cfg *config.Config) {
			needWAT(t)
			addStrategy(cfg, "looper", guest("loop"), nil)
		},
	}
	for name, add := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t)
			add(t, cfg)
			setStrategy(cfg, "looper", func(s *config.Strategy) { s.Timeout = timeout })
			addStrategy(cfg, "next", guest("tester"), map[string]any{"filesystems": []any{"after/loop"}})

			src := NewSource(cfg, nil)
			defer src.Close(context.Background())
			// Load first so the measurement is the call alone, not the compile.
			s, err := src.Strategy(context.Background(), "looper")
			require.NoError(t, err)
			// Best of three: on a loaded 2-core machine the scheduler alone
			// can add tens of milliseconds to one run; a guest that is not
			// stopped at all would never return.
			best := time.Hour
			for i := 0; i < 3 && best >= 50*time.Millisecond; i++ {
				start := time.Now()
				a := s.Discover(context.Background(), discovery.Target{Node: "n", Action: "reboot"})
				best = min(best, time.Since(start)-timeout)
				assert.Equal(t, discovery.OutcomeTimeout, a.Outcome, a.Error)
				assert.Contains(t, a.Error, "timeout of 300ms exceeded")
			}
			if raceEnabled {
				t.Logf("race detector on: not asserting the %v lateness", best)
				return
			}
			assert.Less(t, best, 50*time.Millisecond, "stopped %v after its deadline", best)

			rep := discovery.Run(context.Background(), src, cfg.Discovery.Order, discovery.NewTarget("n", "reboot"), discovery.Options{})
			assert.Equal(t, []discovery.Outcome{discovery.OutcomeTimeout, discovery.OutcomeFound}, outcomes(rep))
			assert.Equal(t, []string{"after/loop"}, rep.Filesystems)
		})
	}
}

// The chain's total budget also stops a guest, and what is left is skipped.
func TestChainBudgetStopsAGuest(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "looper", guest("tester"), map[string]any{"mode": "loop"})
	addStrategy(cfg, "next", guest("tester"), map[string]any{"filesystems": []any{"x/y"}})
	cfg.Discovery.Budget = 1500 * time.Millisecond // loading (a cache hit) fits; the loop does not

	rep := runChain(t, cfg, "n", nil)

	assert.Equal(t, []discovery.Outcome{discovery.OutcomeTimeout, discovery.OutcomeSkipped}, outcomes(rep))
	assert.Contains(t, rep.Attempts[0].Error, "budget")
	assert.Equal(t, []string{discovery.NoneDetected}, rep.Filesystems)
}

func TestMemoryBombCrashesAtTheLimit(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "bomb", guest("tester"), map[string]any{"mode": "membomb"})
	setStrategy(cfg, "bomb", func(s *config.Strategy) { s.MemoryLimit = 16 << 20 })
	addStrategy(cfg, "next", guest("tester"), map[string]any{"filesystems": []any{"x/y"}})

	rep := runChain(t, cfg, "n", nil)

	require.Equal(t, []discovery.Outcome{discovery.OutcomeCrashed, discovery.OutcomeFound}, outcomes(rep), rep.Attempts[0].Error)
	assert.Contains(t, rep.Attempts[0].Error, "out of memory")
}

func TestMemoryLimitBelowTheGoRuntimeFloorIsALoadError(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "tiny", guest("tester"), nil)
	setStrategy(cfg, "tiny", func(s *config.Strategy) { s.MemoryLimit = 1 << 20 })

	rep := runChain(t, cfg, "n", nil)

	assert.Equal(t, discovery.OutcomeLoadError, rep.Attempts[0].Outcome)
	assert.Contains(t, rep.Attempts[0].Error, "over limit")
}

func TestPanicIsACrashQuotingThePanicLine(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "panicky", guest("tester"), map[string]any{"mode": "panic"})
	addStrategy(cfg, "next", guest("tester"), map[string]any{"filesystems": []any{"x/y"}})

	rep := runChain(t, cfg, "n", nil)

	require.Equal(t, []discovery.Outcome{discovery.OutcomeCrashed, discovery.OutcomeFound}, outcomes(rep))
	assert.Contains(t, rep.Attempts[0].Error, "panic: boom from tester")
	assert.Contains(t, rep.Attempts[0].Error, "unreachable")
}

func TestExitIsACrash(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "quitter", guest("tester"), map[string]any{"mode": "exit"})

	rep := runChain(t, cfg, "n", nil)

	assert.Equal(t, discovery.OutcomeCrashed, rep.Attempts[0].Outcome)
	assert.Contains(t, rep.Attempts[0].Error, "guest exited with code 3")
}

// After a crash the instance is thrown away; the next call gets a fresh one.
func TestInstanceIsReplacedAfterACrash(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "flaky", guest("tester"), map[string]any{"mode": "bynode", "filesystems": []any{"ok/fs"}})
	src := NewSource(cfg, nil)
	defer src.Close(context.Background())
	s, err := src.Strategy(context.Background(), "flaky")
	require.NoError(t, err)
	first := s.(*strategy).mod.inst

	a := s.Discover(context.Background(), discovery.Target{Node: "panic", Action: "reboot"})
	require.Equal(t, discovery.OutcomeCrashed, a.Outcome)
	assert.Nil(t, s.(*strategy).mod.inst, "a crashed instance must be closed")

	a = s.Discover(context.Background(), discovery.Target{Node: "echo", Action: "reboot"})
	require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
	assert.NotSame(t, first, s.(*strategy).mod.inst)
}

func TestGuestCannotReadHostFiles(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "snoop", guest("tester"), map[string]any{"mode": "passwd"})

	rep := runChain(t, cfg, "n", nil)

	a := rep.Attempts[0]
	assert.Equal(t, discovery.OutcomeError, a.Outcome)
	assert.Contains(t, a.Error, "read /etc/passwd")
	assert.Contains(t, a.Error, "Bad file number") // EBADF: there are no preopened directories
	assert.Empty(t, a.Filesystems)
}

func TestGuestSeesNoEnvironmentOrArguments(t *testing.T) {
	t.Setenv("FGR_SECRET", "must-not-leak")
	cfg := testConfig(t)
	addStrategy(cfg, "env", guest("tester"), map[string]any{"mode": "env", "filesystems": []any{"a/b"}})

	rep := runChain(t, cfg, "n", nil)

	a := rep.Attempts[0]
	require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
	assert.EqualValues(t, "0", a.Details["environ"].(interface{ String() string }).String())
}

func TestGuestLogsReachTheAttemptAndTheLogger(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "chatty", guest("tester"), map[string]any{"mode": "log", "filesystems": []any{"a/b"}})
	rec := &logRecorder{}

	rep := runChain(t, cfg, "compute-7", slog.New(rec))

	a := rep.Attempts[0]
	require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
	assert.Equal(t, []discovery.LogLine{
		{Level: "DEBUG", Msg: "debug line n=1"},
		{Level: "INFO", Msg: "info line node=compute-7"},
		{Level: "WARN", Msg: "warn line"},
		{Level: "ERROR", Msg: `error line err="bad thing"`},
	}, a.Logs)
	r, ok := rec.find("warn line")
	require.True(t, ok)
	assert.Equal(t, slog.LevelWarn, r.Level)
	assert.Equal(t, "chatty", attrOf(r, "strategy"))
}

func TestGuestLogFloodIsCapped(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "flood", guest("tester"), map[string]any{"mode": "logflood", "filesystems": []any{"a/b"}})

	rep := runChain(t, cfg, "n", nil)

	a := rep.Attempts[0]
	require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
	require.Len(t, a.Logs, maxLogLines+1)
	assert.Contains(t, a.Logs[maxLogLines].Msg, "500 more guest log lines dropped")
}

func TestGuestStderrIsLoggedAtDebug(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "stderr", guest("tester"), map[string]any{"mode": "stderr", "filesystems": []any{"a/b"}})
	rec := &logRecorder{}

	runChain(t, cfg, "n", slog.New(rec))

	r, ok := rec.find("guest stderr")
	require.True(t, ok)
	assert.Equal(t, slog.LevelDebug, r.Level)
	assert.Contains(t, attrOf(r, "text"), "guest says hello on stderr")
}

// Two callers share one strategy: calls are serialized, nothing crashes,
// every answer is right.
func TestParallelCallersAreSerialized(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "shared", guest("tester"), map[string]any{"mode": "echo", "filesystems": []any{"p/fs"}})
	src := NewSource(cfg, nil)
	defer src.Close(context.Background())

	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				rep := discovery.Run(context.Background(), src, []string{"shared"}, discovery.NewTarget("n", "reboot"), discovery.Options{})
				if rep.Attempts[0].Outcome != discovery.OutcomeFound || rep.Filesystems[0] != "p/fs" {
					errs <- string(rep.Attempts[0].Outcome) + ": " + rep.Attempts[0].Error
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// assertLoadRefused runs a chain with the module at p as its one strategy:
// it must be refused at load, with an error containing want.
func assertLoadRefused(t *testing.T, p, want string) {
	t.Helper()
	cfg := testConfig(t)
	addStrategy(cfg, "m", p, nil)

	rep := runChain(t, cfg, "n", nil)

	assert.Equal(t, discovery.OutcomeLoadError, rep.Attempts[0].Outcome)
	assert.Contains(t, rep.Attempts[0].Error, want)
}

func TestWorldWritableModuleIsRefused(t *testing.T) {
	for name, mode := range map[string]os.FileMode{"world": 0o646, "group": 0o664} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "open.wasm")
			copyFile(t, guest("tester"), p, mode)
			assertLoadRefused(t, p, "lets group or others write it")
		})
	}
	t.Run("writable directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "shared")
		require.NoError(t, os.Mkdir(dir, 0o755))
		p := filepath.Join(dir, "m.wasm")
		copyFile(t, guest("tester"), p, 0o644)
		require.NoError(t, os.Chmod(dir, 0o777))
		assertLoadRefused(t, p, "lets group or others replace it")
	})
	t.Run("symlink from a writable directory", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "real.wasm")
		copyFile(t, guest("tester"), p, 0o644)
		open := filepath.Join(t.TempDir(), "open")
		require.NoError(t, os.Mkdir(open, 0o755))
		link := filepath.Join(open, "link.wasm")
		require.NoError(t, os.Symlink(p, link))
		require.NoError(t, os.Chmod(open, 0o777))
		assertLoadRefused(t, link, "its directory "+open)
	})
	t.Run("owned by another user", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to chown")
		}
		p := filepath.Join(t.TempDir(), "theirs.wasm")
		copyFile(t, guest("tester"), p, 0o644)
		require.NoError(t, os.Chown(p, 65534, 65534))
		assertLoadRefused(t, p, "owned by uid 65534")
	})
	t.Run("owner-only module loads", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "fine.wasm")
		copyFile(t, guest("tester"), p, 0o644)
		cfg := testConfig(t)
		addStrategy(cfg, "fine", p, map[string]any{"filesystems": []any{"a/b"}})

		rep := runChain(t, cfg, "n", nil)

		assert.Equal(t, discovery.OutcomeFound, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
	})
}

func TestUnsafeCacheDirIsWarnedAboutAndNotUsed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.Chmod(dir, 0o777))
	cfg := testConfig(t)
	cfg.CacheDir = dir
	addStrategy(cfg, "t", guest("tester"), map[string]any{"filesystems": []any{"a/b"}})
	rec := &logRecorder{}

	rep := runChain(t, cfg, "n", slog.New(rec))

	assert.Equal(t, discovery.OutcomeFound, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
	r, ok := rec.find("not using the compile cache")
	require.True(t, ok, "expected a warning about the cache dir")
	assert.Equal(t, slog.LevelWarn, r.Level)
	assert.Contains(t, attrOf(r, "reason"), "writable by group or others")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing may be written into an unsafe cache dir")
}

func TestSafeCacheDirIsCreatedAndFilled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "cache")
	cfg := testConfig(t)
	cfg.CacheDir = dir
	addStrategy(cfg, "t", guest("answer"), nil)
	needWAT(t)

	rep := runChain(t, cfg, "n", nil)

	require.Equal(t, discovery.OutcomeFound, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.NotEmpty(t, entries)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o600))
	require.NoError(t, os.Chmod(to, mode))
}

func TestImplausibleNodeNeverReachesTheGuest(t *testing.T) {
	cfg := testConfig(t)
	cfg.Commands["hello"] = shCommand(`echo "hello $1"`)
	execStrategy(cfg, "hello", []any{"x"}, "hello")
	src := NewSource(cfg, nil)
	defer src.Close(context.Background())
	s, err := src.Strategy(context.Background(), "runner")
	require.NoError(t, err)

	for _, node := range []string{"", "-rf", "a b", "../etc", "n;id"} {
		a := s.Discover(context.Background(), discovery.Target{Node: node, Action: "reboot"})
		assert.Equal(t, discovery.OutcomeInvalidTarget, a.Outcome, node)
		assert.Empty(t, a.Calls, node)
	}
	a := s.Discover(context.Background(), discovery.Target{Node: "compute-1", Action: "reboot"})
	assert.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
}

func TestCacheDirOwnedBySomeoneElseIsNotUsed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown the directory to another user")
	}
	dir := filepath.Join(t.TempDir(), "cache")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.Chown(dir, 65534, 65534))
	rec := &logRecorder{}
	e := newEngine(dir, slog.New(rec))
	defer e.close(context.Background())

	assert.Empty(t, e.cacheDir)
	r, ok := rec.find("not using the compile cache")
	require.True(t, ok)
	assert.Contains(t, attrOf(r, "reason"), "owned by uid 65534")
}
