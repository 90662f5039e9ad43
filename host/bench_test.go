package host

// Benchmarks behind the numbers in docs/RATIONALE.md. Run:
//
//	go test ./host -run '^$' -bench . -benchtime 10x
//
// Phases: what one fence pays per strategy (cold compile, cache hit,
// instantiate, one discover call). Runaway: the chosen in-process design
// (CloseOnContextDone) against a child process per strategy call killed at
// its deadline, prototyped by re-executing this test binary as the child.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
)

func BenchmarkPhases(b *testing.B) {
	ctx := context.Background()
	// The agent's real built-in module (plugins/builtin), next to the
	// smallest SDK guest and the test guest.
	if err := buildGoGuest("../plugins/builtin", guest("builtin")); err != nil {
		b.Fatal(err)
	}
	for _, g := range []string{"empty", "tester", "builtin"} {
		bin, err := os.ReadFile(guest(g))
		if err != nil {
			b.Fatal(err)
		}
		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(fmt.Sprintf("compile-cold-%d-workers/%s", workers, g), func(b *testing.B) {
				b.ReportMetric(float64(len(bin)), "wasm-bytes")
				wctx := experimental.WithCompilationWorkers(ctx, workers)
				for i := 0; i < b.N; i++ {
					rt := wazero.NewRuntimeWithConfig(ctx, runtimeConfig(1024, nil, false))
					if _, err := rt.CompileModule(wctx, bin); err != nil {
						b.Fatal(err)
					}
					rt.Close(ctx)
				}
			})
		}
		b.Run("compile-cache-hit/"+g, func(b *testing.B) {
			dir := b.TempDir()
			warmCache(b, dir, bin)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// A new cache object and runtime each time: what a new
				// agent process pays.
				c, err := wazero.NewCompilationCacheWithDir(dir)
				if err != nil {
					b.Fatal(err)
				}
				rt := wazero.NewRuntimeWithConfig(ctx, runtimeConfig(1024, c, false))
				if _, err := rt.CompileModule(ctx, bin); err != nil {
					b.Fatal(err)
				}
				rt.Close(ctx)
				c.Close(ctx)
			}
		})
		b.Run("instantiate/"+g, func(b *testing.B) {
			cfg := benchConfig(b, g)
			src := NewSource(cfg, nil)
			defer src.Close(ctx)
			s := loadBench(b, src, "s")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.mod.mu.Lock()
				s.mod.closeInstance(ctx)
				if err := s.mod.instantiate(withCallState(ctx, &callState{logger: discardLogger()})); err != nil {
					b.Fatal(err)
				}
				s.mod.mu.Unlock()
			}
		})
	}
	for _, unstoppable := range []bool{false, true} {
		name := "discover-call/close-on-done"
		if unstoppable {
			name = "discover-call/no-close-on-done"
		}
		b.Run(name, func(b *testing.B) {
			cfg := benchConfig(b, "tester")
			src := NewSource(cfg, nil)
			src.eng.unstoppable = unstoppable
			src.eng.cacheDir = "" // the flag is part of the cache key; keep the shared cache clean
			discoverCalls(b, src)
		})
	}
	b.Run("discover-call-exec-true", func(b *testing.B) {
		cfg := benchConfig(b, "tester")
		cfg.Commands["true"] = config.Command{Path: "/bin/true", Timeout: time.Second}
		setStrategy(cfg, "s", func(s *config.Strategy) {
			s.Allow = []string{"true"}
			s.Config = map[string]any{"mode": "exec", "command": "true", "filesystems": []any{"a/b"}}
		})
		discoverCalls(b, NewSource(cfg, nil))
	})
	// What the agent pays for one strategy on a warm cache: new Source,
	// load (cache hit + instantiate), one call, close.
	b.Run("whole-strategy-warm/tester", func(b *testing.B) {
		cfg := benchConfig(b, "tester")
		cfg.CacheDir = b.TempDir()
		oneStrategyInProcess(b, cfg) // warm
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			oneStrategyInProcess(b, cfg)
		}
	})
}

// discoverCalls times discover calls of strategy "s" of src, loaded once
// before the timer starts, and closes src.
func discoverCalls(b *testing.B, src *Source) {
	ctx := context.Background()
	defer src.Close(ctx)
	s := loadBench(b, src, "s")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if a := s.Discover(ctx, discovery.Target{Node: "n", Action: "reboot"}); a.Outcome != discovery.OutcomeFound {
			b.Fatal(a.Outcome, a.Error)
		}
	}
}

func oneStrategyInProcess(b *testing.B, cfg *config.Config) {
	src := NewSource(cfg, nil)
	rep := discovery.Run(context.Background(), src, []string{"s"}, discovery.NewTarget("n", "reboot"), discovery.Options{})
	if rep.Attempts[0].Outcome != discovery.OutcomeFound {
		b.Fatal(rep.Attempts[0].Outcome, rep.Attempts[0].Error)
	}
	src.Close(context.Background())
}

// BenchmarkRunaway compares the two ways to stop a guest that never
// returns. "late" is how long after its deadline the caller got control back.
func BenchmarkRunaway(b *testing.B) {
	// Long enough for the child to be inside the guest's loop, not still
	// loading, when it is killed.
	const deadline = 150 * time.Millisecond
	ctx := context.Background()
	b.Run("in-process-close-on-done", func(b *testing.B) {
		cfg := benchConfig(b, "tester")
		setStrategy(cfg, "s", func(s *config.Strategy) { s.Timeout = deadline; s.Config = map[string]any{"mode": "loop"} })
		src := NewSource(cfg, nil)
		defer src.Close(ctx)
		var late []time.Duration
		for i := 0; i < b.N; i++ {
			s := loadBench(b, src, "s")
			start := time.Now()
			if a := s.Discover(ctx, discovery.Target{Node: "n", Action: "reboot"}); a.Outcome != discovery.OutcomeTimeout {
				b.Fatal(a.Outcome, a.Error)
			}
			late = append(late, time.Since(start)-deadline)
		}
		reportLate(b, late)
	})
	// The alternative: the strategy runs in a child process (this test
	// binary re-executed) without CloseOnContextDone, killed at the deadline.
	b.Run("child-process-killed", func(b *testing.B) {
		cacheDir := b.TempDir()
		runHelper(b, cacheDir, "echo", 0) // warm the child's cache
		b.ResetTimer()
		var late []time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			runHelper(b, cacheDir, "loop", deadline)
			late = append(late, time.Since(start)-deadline)
		}
		reportLate(b, late)
	})
	// Fork/exec costs of the child design, per strategy call.
	b.Run("child-spawn/bin-true", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := exec.Command("/bin/true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("child-spawn/go-host-noop", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			runHelper(b, "", "noop", 0)
		}
	})
	b.Run("child-spawn/go-host-discover", func(b *testing.B) {
		cacheDir := b.TempDir()
		runHelper(b, cacheDir, "echo", 0)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			runHelper(b, cacheDir, "echo", 0)
		}
	})
}

// runHelper runs one strategy call in a child process. With a deadline, the
// child is killed when it passes.
func runHelper(b *testing.B, cacheDir, mode string, deadline time.Duration) {
	ctx := context.Background()
	if deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, deadline)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperEnv+"_WASM="+guest("tester"), helperEnv+"_CACHE="+cacheDir)
	out, err := cmd.Output()
	if deadline > 0 {
		if ctx.Err() == nil {
			b.Fatalf("helper %s returned before its deadline: %v %s", mode, err, out)
		}
		return
	}
	if err != nil {
		b.Fatalf("helper %s: %v %s", mode, err, out)
	}
	if mode != "noop" {
		var a discovery.Attempt
		if err := json.Unmarshal(out, &a); err != nil || a.Outcome != discovery.OutcomeFound {
			b.Fatalf("helper %s: %v %s", mode, err, out)
		}
	}
}

const helperEnv = "FGR_HOST_BENCH_HELPER"

// helperMain is the child of the child-process prototype: it loads the
// tester guest without CloseOnContextDone (the parent's kill is the stop),
// runs one call and prints the attempt.
func helperMain(mode string) int {
	if mode == "noop" {
		return 0
	}
	cfg := config.Defaults()
	cfg.CacheDir = os.Getenv(helperEnv + "_CACHE")
	cfg.Strategies = map[string]config.Strategy{"s": {File: os.Getenv(helperEnv + "_WASM"), Timeout: time.Hour,
		Config: map[string]any{"mode": mode, "filesystems": []any{"a/b"}}}}
	src := NewSource(&cfg, nil)
	src.eng.unstoppable = true
	// The flag is part of wazero's cache key: the entry the compile child
	// writes (with it) misses, and this process compiles its own.
	s, err := src.Strategy(context.Background(), "s")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	a := s.Discover(context.Background(), discovery.Target{Node: "n", Action: "reboot"})
	_ = json.NewEncoder(os.Stdout).Encode(a)
	return 0
}

func benchConfig(b *testing.B, g string) *config.Config {
	cfg := config.Defaults()
	cfg.CacheDir = sharedCache
	cfg.BuiltinDir, cfg.PluginDir = "", ""
	cfg.Commands = map[string]config.Command{}
	cfg.Strategies = map[string]config.Strategy{"s": {File: guest(g), Timeout: 5 * time.Second,
		MemoryLimit: config.DefaultMemoryLimit, Config: map[string]any{"mode": "echo", "filesystems": []any{"a/b"}}}}
	cfg.Discovery.Order = []string{"s"}
	return &cfg
}

func loadBench(b *testing.B, src *Source, name string) *strategy {
	s, err := src.Strategy(context.Background(), name)
	if err != nil {
		b.Fatal(err)
	}
	return s.(*strategy)
}

func warmCache(b *testing.B, dir string, bin []byte) {
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	rt := wazero.NewRuntimeWithConfig(context.Background(), runtimeConfig(1024, c, false))
	defer rt.Close(context.Background())
	if _, err := rt.CompileModule(context.Background(), bin); err != nil {
		b.Fatal(err)
	}
}

// reportLate reports the median and the worst lateness in milliseconds.
func reportLate(b *testing.B, late []time.Duration) {
	slices.Sort(late)
	b.ReportMetric(float64(late[len(late)/2].Microseconds())/1000, "ms-late-p50")
	b.ReportMetric(float64(late[len(late)-1].Microseconds())/1000, "ms-late-max")
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
