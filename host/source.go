// Package host runs discovery strategies that are WebAssembly modules (WASI
// preview1 reactors speaking the fgr ABI, docs/ABI.md) inside wazero, and
// hands them to the discovery chain as a discovery.Source.
//
// The sandbox: no files, no environment, no arguments, a memory limit, a
// per-strategy timeout that really stops a looping guest, and exactly one way
// out: fgr.exec of the commands the configuration grants the strategy
// (package execcap). Modules are compiled lazily, through a compile cache
// on disk when one is configured and safe.
package host

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/host/execcap"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
)

// Source resolves strategy names to loaded WebAssembly strategies. It is
// safe for concurrent use; each strategy serializes its own calls.
type Source struct {
	cfg    *config.Config
	logger *slog.Logger
	eng    *engine

	mu     sync.Mutex
	loaded map[string]*strategy
	closed bool
}

var _ discovery.Source = (*Source)(nil)

// NewSource prepares a Source. Nothing is read or compiled until the chain
// asks for a strategy. A nil logger discards.
func NewSource(cfg *config.Config, logger *slog.Logger) *Source {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Source{cfg: cfg, logger: logger, eng: newEngine(cfg.CacheDir, logger), loaded: map[string]*strategy{}}
}

// Strategy implements discovery.Source: it resolves, checks, compiles and
// instantiates the module the first time name is asked for. Any failure is
// a load error with a sentence that names the file and the problem.
func (s *Source) Strategy(ctx context.Context, name string) (discovery.Strategy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("strategy %s: host is closed", name)
	}
	if st, ok := s.loaded[name]; ok {
		return st, nil
	}
	loc, err := Resolve(s.cfg, name)
	if err != nil {
		return nil, err
	}
	st, err := s.load(ctx, loc)
	if err != nil {
		return nil, err
	}
	s.loaded[name] = st
	return st, nil
}

// LoadFile loads a module from an explicit path under the settings of
// strategy name (for `plugins run FILE` and tests).
func (s *Source) LoadFile(ctx context.Context, name, path string) (discovery.Strategy, error) {
	if err := checkStrategyName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load(ctx, Location{Name: name, Path: path, Kind: KindFile})
}

func (s *Source) load(ctx context.Context, loc Location) (*strategy, error) {
	settings, ok := s.cfg.Strategies[loc.Name]
	if !ok {
		// A site drop-in nobody configured: default limits, no commands.
		settings = config.Strategy{Timeout: config.DefaultStrategyTimeout, MemoryLimit: config.DefaultMemoryLimit}
	}
	cm, rt, _, err := s.eng.compile(ctx, loc, settings.MemoryLimit)
	if err != nil {
		return nil, err
	}
	st := &strategy{
		name: loc.Name, loc: loc, settings: settings,
		grants: execcap.NewGrants(s.cfg, loc.Name),
		logger: s.logger, rt: rt, compiled: cm,
		stdout: &cappedWriter{max: maxGuestOutput}, stderr: &cappedWriter{max: maxGuestOutput},
	}
	// Instantiate now so a wrong ABI version or a crashing init is a load
	// error, under the strategy's own timeout.
	ictx, cancel := context.WithTimeout(ctx, st.timeout())
	defer cancel()
	ictx = withCallState(ictx, &callState{strategy: loc.Name, grants: st.grants, logger: s.logger})
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.instantiate(ictx); err != nil {
		_, why := st.classify(ctx, ictx, err)
		_ = cm.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("%s: %s", loc.Path, why)
	}
	return st, nil
}

// compile reads, checks and compiles a module. The compile time is returned
// for `plugins warm`; on a cache hit it is mostly wazero's validation.
func (e *engine) compile(ctx context.Context, loc Location, memoryLimit int64) (wazero.CompiledModule, wazero.Runtime, time.Duration, error) {
	bin, err := ReadModule(loc.Path)
	if err != nil {
		return nil, nil, 0, err
	}
	rt, err := e.runtime(ctx, memoryLimit)
	if err != nil {
		return nil, nil, 0, err
	}
	start := time.Now()
	cm, err := rt.CompileModule(ctx, bin)
	took := time.Since(start)
	if err != nil {
		return nil, nil, took, fmt.Errorf("%s is not a usable WebAssembly module: %w", loc.Path, err)
	}
	if err := checkShape(cm); err != nil {
		_ = cm.Close(ctx)
		return nil, nil, took, fmt.Errorf("%s: %w", loc.Path, err)
	}
	return cm, rt, took, nil
}

// Close releases every instance, compiled module and runtime.
func (s *Source) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.loaded = map[string]*strategy{}
	return s.eng.close(ctx)
}
