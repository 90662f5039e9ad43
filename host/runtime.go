package host

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

const wasmPageSize = 64 << 10

// engine owns the wazero runtimes of one process. wazero fixes the memory
// limit and the compile cache per runtime, so there is one runtime per
// memory limit and cache entry (compile.go keeps one entry per module); with
// the defaults that is one runtime per module file.
type engine struct {
	logger   *slog.Logger
	cacheDir string // "" when the cache is off or unsafe: compiling in memory
	mu       sync.Mutex
	runtimes map[runtimeKey]wazero.Runtime
	caches   map[string]wazero.CompilationCache // by entry directory
	evicted  map[string]bool                    // entries thrown away this run (compile.go)

	instances atomic.Uint64 // names instances uniquely across the engine's runtimes

	// compileWait, when set, replaces the strategy timeout as the bound on
	// waiting for a compile: `plugins warm` is run by a person who wants
	// the cache filled, not by a fence.
	compileWait time.Duration
	// compileMemory, when set, replaces compileMemoryCeiling (tests).
	compileMemory int64

	// unstoppable turns CloseOnContextDone off. Only benchmarks set it, to
	// price the flag; production never does (see runtimeConfig).
	unstoppable bool
}

type runtimeKey struct {
	pages uint32
	entry string // "" for in-memory compiles
}

func newEngine(cacheDir string, logger *slog.Logger) *engine {
	e := &engine{logger: logger, runtimes: map[runtimeKey]wazero.Runtime{},
		caches: map[string]wazero.CompilationCache{}, evicted: map[string]bool{}}
	if cacheDir == "" {
		return e
	}
	if err := checkCacheDir(cacheDir); err != nil {
		logger.Warn("not using the compile cache; compiling in memory (each run pays the full compile)",
			"cache_dir", cacheDir, "reason", err.Error())
		return e
	}
	e.cacheDir = cacheDir
	return e
}

// checkCacheDir creates dir (0700) if missing and refuses one another user
// could write: cache entries are native code the host maps executable, checked
// only by a CRC, so whoever can write them can run code as the agent (root).
func checkCacheDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by the agent's uid %d", dir, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s has mode %s: writable by group or others (want 0700)", dir, modeString(fi))
	}
	return nil
}

// runtimeConfig is the one configuration every runtime uses. The compile
// cache key includes CloseOnContextDone, so warm, verify, the compile child
// and the fence path must all build their runtime here or the cache never
// hits.
func runtimeConfig(memoryLimitPages uint32, cache wazero.CompilationCache, unstoppable bool) wazero.RuntimeConfig {
	// CloseOnContextDone is not optional: without it a looping guest cannot
	// be stopped and freezes the host's garbage collector (docs/RATIONALE.md).
	rc := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(!unstoppable).
		WithMemoryLimitPages(memoryLimitPages)
	if cache != nil {
		rc = rc.WithCompilationCache(cache)
	}
	return rc
}

// runtime returns the runtime for a memory limit and a cache entry ("":
// none), creating it with WASI and the fgr host module on first use.
func (e *engine) runtime(ctx context.Context, memoryLimitBytes int64, entry string) (wazero.Runtime, error) {
	key := runtimeKey{pagesFor(memoryLimitBytes), entry}
	e.mu.Lock()
	defer e.mu.Unlock()
	if rt, ok := e.runtimes[key]; ok {
		return rt, nil
	}
	var cache wazero.CompilationCache
	if entry != "" {
		if cache = e.caches[entry]; cache == nil {
			c, err := wazero.NewCompilationCacheWithDir(entry)
			if err != nil {
				return nil, fmt.Errorf("opening the compile cache entry %s: %w", entry, err)
			}
			cache, e.caches[entry] = c, c
		}
	}
	rt := wazero.NewRuntimeWithConfig(ctx, runtimeConfig(key.pages, cache, e.unstoppable))
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiating WASI: %w", err)
	}
	if err := instantiateHostModule(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiating host module %q: %w", hostModule, err)
	}
	e.runtimes[key] = rt
	return rt, nil
}

func (e *engine) close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var first error
	for k, rt := range e.runtimes {
		if err := rt.Close(ctx); err != nil && first == nil {
			first = err
		}
		delete(e.runtimes, k)
	}
	for k, c := range e.caches {
		if err := c.Close(ctx); err != nil && first == nil {
			first = err
		}
		delete(e.caches, k)
	}
	return first
}

// pagesFor converts a byte limit to wasm pages, rounding up, within wazero's
// 65536-page (4 GiB) ceiling. 0 or less means the default.
func pagesFor(limit int64) uint32 {
	if limit <= 0 {
		limit = 64 << 20
	}
	pages := (limit + wasmPageSize - 1) / wasmPageSize
	if pages > 65536 {
		pages = 65536
	}
	return uint32(pages)
}
