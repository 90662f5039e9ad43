package host

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

const wasmPageSize = 64 << 10

// engine owns the wazero runtimes of one process and their shared compile
// cache. wazero fixes the memory limit per runtime, so strategies with
// different memory_limit values get one runtime each; with the defaults
// (every strategy 64 MiB) there is exactly one runtime per process.
type engine struct {
	logger   *slog.Logger
	cache    wazero.CompilationCache // nil when compiling in memory only
	cacheDir string                  // "" when the cache is off
	mu       sync.Mutex
	runtimes map[uint32]wazero.Runtime // by memory limit in pages

	instances atomic.Uint64 // names instances uniquely across the engine's runtimes

	// unstoppable turns CloseOnContextDone off. Only benchmarks set it, to
	// price the flag; production never does (see runtimeConfig).
	unstoppable bool
}

func newEngine(cacheDir string, logger *slog.Logger) *engine {
	e := &engine{logger: logger, runtimes: map[uint32]wazero.Runtime{}}
	if cacheDir == "" {
		return e
	}
	if err := checkCacheDir(cacheDir); err != nil {
		logger.Warn("not using the compile cache; compiling in memory (each run pays the full compile)",
			"cache_dir", cacheDir, "reason", err.Error())
		return e
	}
	c, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		logger.Warn("not using the compile cache", "cache_dir", cacheDir, "reason", err.Error())
		return e
	}
	e.cache, e.cacheDir = c, cacheDir
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
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s has mode %04o: writable by group or others (want 0700)", dir, perm)
	}
	return nil
}

// runtimeConfig is the one configuration every runtime uses. The compile
// cache key includes CloseOnContextDone, so warm, verify and the fence path
// must all build their runtime here or the cache never hits.
func (e *engine) runtimeConfig(memoryLimitPages uint32) wazero.RuntimeConfig {
	// CloseOnContextDone is not optional: without it a looping guest cannot
	// be stopped and freezes the host's garbage collector (docs/RATIONALE.md).
	rc := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(!e.unstoppable).
		WithMemoryLimitPages(memoryLimitPages)
	if e.cache != nil {
		rc = rc.WithCompilationCache(e.cache)
	}
	return rc
}

// runtime returns the runtime for a memory limit, creating it with WASI and
// the fgr host module on first use.
func (e *engine) runtime(ctx context.Context, memoryLimitBytes int64) (wazero.Runtime, error) {
	pages := pagesFor(memoryLimitBytes)
	e.mu.Lock()
	defer e.mu.Unlock()
	if rt, ok := e.runtimes[pages]; ok {
		return rt, nil
	}
	rt := wazero.NewRuntimeWithConfig(ctx, e.runtimeConfig(pages))
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiating WASI: %w", err)
	}
	if err := instantiateHostModule(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiating host module %q: %w", hostModule, err)
	}
	e.runtimes[pages] = rt
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
	if e.cache != nil {
		if err := e.cache.Close(ctx); err != nil && first == nil {
			first = err
		}
		e.cache = nil
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
