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
	"slices"
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

	// Prefetch makes the first command a strategy runs start loading the
	// next strategy of discovery.order in the background: the host is idle
	// while kubectl or crm_mon runs, and a load from the compile cache
	// costs about as much as the command (docs/PERFORMANCE.md). Set it
	// before the first Strategy call.
	Prefetch bool

	mu     sync.Mutex
	loads  map[string]*loading // finished or in flight, by name; failed loads are dropped so they are retried
	busy   int                 // loads in flight
	closed bool
	// lateClose: Close came while loads were in flight; the last of them
	// closes the engine, so Close never waits for a compile nobody needs.
	lateClose bool
	bg        context.Context // prefetch loads; cancelled by Close
	bgCancel  context.CancelFunc
}

// loading is one strategy's load, shared by everyone who asks for it.
type loading struct {
	done chan struct{}
	st   *strategy
	err  error
}

var _ discovery.Source = (*Source)(nil)

// NewSource prepares a Source. Nothing is read or compiled until the chain
// asks for a strategy. A nil logger discards.
func NewSource(cfg *config.Config, logger *slog.Logger) *Source {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	bg, cancel := context.WithCancel(context.Background())
	return &Source{cfg: cfg, logger: logger, eng: newEngine(cfg.CacheDir, logger),
		loads: map[string]*loading{}, bg: bg, bgCancel: cancel}
}

// Strategy implements discovery.Source: it resolves, checks, compiles and
// instantiates the module the first time name is asked for (or waits for
// the prefetch already doing it). Any failure is a load error with a
// sentence that names the file and the problem.
func (s *Source) Strategy(ctx context.Context, name string) (discovery.Strategy, error) {
	l, mine := s.begin(name)
	if l == nil {
		return nil, fmt.Errorf("strategy %s: host is closed", name)
	}
	if mine {
		s.run(ctx, name, l)
	}
	select {
	case <-l.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("strategy %s: waiting for its module to load: %w", name, ctx.Err())
	}
	if l.err != nil {
		return nil, l.err
	}
	return l.st, nil
}

// begin returns name's load and whether the caller must run it; nil when
// the Source is closed.
func (s *Source) begin(name string) (l *loading, mine bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false
	}
	if l, ok := s.loads[name]; ok {
		return l, false
	}
	l = &loading{done: make(chan struct{})}
	s.loads[name] = l
	s.busy++
	return l, true
}

// run loads name into l and publishes the result.
func (s *Source) run(ctx context.Context, name string, l *loading) {
	loc, err := Resolve(s.cfg, name)
	var st *strategy
	if err == nil {
		st, err = s.load(ctx, loc)
	}
	if st != nil && s.Prefetch {
		st.prefetch = func() { s.prefetchAfter(name) }
	}
	s.mu.Lock()
	s.busy--
	if err != nil && s.loads[name] == l {
		delete(s.loads, name)
	}
	if s.closed && err == nil {
		st, err = nil, fmt.Errorf("strategy %s: host is closed", name) // the engine close releases its module
	}
	closeEngine := s.closed && s.lateClose && s.busy == 0
	s.mu.Unlock()
	if closeEngine {
		if err := s.eng.close(context.Background()); err != nil {
			s.logger.Debug("closing the wasm runtime after a prefetch", "error", err)
		}
	}
	l.st, l.err = st, err
	close(l.done)
}

// prefetchAfter starts loading the strategy that follows name in the
// configured order, unless it is loaded or loading already.
func (s *Source) prefetchAfter(name string) {
	order := s.cfg.Discovery.Order
	i := slices.Index(order, name)
	if i < 0 || i+1 >= len(order) {
		return
	}
	next := order[i+1]
	if l, mine := s.begin(next); l != nil && mine {
		go s.run(s.bg, next, l)
	}
}

// LoadFile loads a module from an explicit path under the settings of
// strategy name (for `plugins run FILE` and tests).
func (s *Source) LoadFile(ctx context.Context, name, path string) (discovery.Strategy, error) {
	if err := checkStrategyName(name); err != nil {
		return nil, err
	}
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

// Close releases every instance, compiled module and runtime. A prefetch
// still loading is cancelled and releases them when it stops, so Close does
// not wait for a module nobody will call.
func (s *Source) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.loads = map[string]*loading{}
	s.bgCancel()
	if s.busy > 0 {
		s.lateClose = true
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	return s.eng.close(ctx)
}
