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
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"

	"github.com/tetratelabs/wazero/experimental"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/execcap"
)

// Source resolves strategy names to loaded WebAssembly strategies. It is
// safe for concurrent use. Strategies served by the same module file (under
// the same memory limit) share one compiled module and one instance; a call
// made while another holds that instance runs on one of its own
// (strategy.callModule).
type Source struct {
	cfg    *config.Config
	logger *slog.Logger
	eng    *engine

	// Prefetch makes the first command a strategy runs start loading the
	// module of the next strategy of discovery.order in the background
	// (unless it is the same module): the host is idle while kubectl or
	// crm_mon runs, and a load from the compile cache costs about as much
	// as the command (docs/PERFORMANCE.md). Set it before the first
	// Strategy call.
	Prefetch bool

	// HeadStart starts the first strategy's remembered first command while
	// its module loads (headstart.go). Set it before Prepare.
	HeadStart bool

	// CompileWorkers is how many goroutines compile a module's functions
	// when the compile cache misses (wazero's experimental
	// WithCompilationWorkers); 0 means one per CPU. A cache hit does not
	// compile. Set it before the first Strategy call.
	CompileWorkers int

	mu     sync.Mutex
	loads  map[moduleKey]*loading // finished or in flight; failed loads are dropped so they are retried
	busy   int                    // loads in flight
	closed bool
	// lateClose: Close came while loads were in flight; the last of them
	// closes the engine, so Close never waits for a compile nobody needs.
	lateClose bool
	bg        context.Context // prefetch loads; cancelled by Close
	bgCancel  context.CancelFunc
	unclaimed *headStart // started by Prepare, not yet handed to its strategy
}

// moduleKey identifies a shareable module: wazero fixes the memory limit
// per runtime, so the same file under two limits is two modules.
type moduleKey struct {
	path  string
	pages uint32
}

// loading is one module's load, shared by everyone who asks for it.
type loading struct {
	done chan struct{}
	mod  *module
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
		loads: map[moduleKey]*loading{}, bg: bg, bgCancel: cancel}
}

// Strategy implements discovery.Source: it resolves name and, the first
// time its module is asked for, reads, checks, compiles and instantiates it
// (or waits for the prefetch already doing it). Any failure is a load error
// with a sentence that names the file and the problem.
func (s *Source) Strategy(ctx context.Context, name string) (discovery.Strategy, error) {
	loc, err := Resolve(s.cfg, name)
	if err != nil {
		return nil, err
	}
	return s.strategyOrNil(ctx, loc)
}

// LoadFile loads a module from an explicit path under the settings of
// strategy name (for `plugins run FILE` and tests).
func (s *Source) LoadFile(ctx context.Context, name, path string) (discovery.Strategy, error) {
	if err := checkStrategyName(name); err != nil {
		return nil, err
	}
	return s.strategyOrNil(ctx, Location{Name: name, Path: path, Kind: KindFile})
}

// strategyOrNil is strategyAt for callers that return the interface: a
// failed load must be a nil interface, not one holding a nil *strategy.
func (s *Source) strategyOrNil(ctx context.Context, loc Location) (discovery.Strategy, error) {
	st, err := s.strategyAt(ctx, loc)
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (s *Source) strategyAt(ctx context.Context, loc Location) (*strategy, error) {
	settings := s.settings(loc.Name)
	key := moduleKey{loc.Path, pagesFor(settings.MemoryLimit)}
	l, mine := s.begin(key)
	if l == nil {
		return nil, fmt.Errorf("strategy %s: host is closed", loc.Name)
	}
	if mine {
		s.run(ctx, loc, settings, key, l)
	}
	select {
	case <-l.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("strategy %s: waiting for its module to load: %w", loc.Name, ctx.Err())
	}
	if l.err != nil {
		return nil, l.err
	}
	st := s.newStrategy(loc, settings, l.mod)
	if s.Prefetch {
		st.prefetch = func() { s.prefetchAfter(loc.Name) }
	}
	if s.headStartEligible(loc) {
		st.planDir = s.eng.cacheDir
		st.early = s.takeHeadStart(loc.Name)
	}
	return st, nil
}

// settings are strategy name's settings; a site drop-in nobody configured
// gets the default limits and no commands.
func (s *Source) settings(name string) config.Strategy {
	if st, ok := s.cfg.Strategies[name]; ok {
		return st
	}
	return config.Strategy{Timeout: config.DefaultStrategyTimeout, MemoryLimit: config.DefaultMemoryLimit}
}

func (s *Source) newStrategy(loc Location, settings config.Strategy, m *module) *strategy {
	return &strategy{name: loc.Name, loc: loc, settings: settings,
		grants: execcap.NewGrants(s.cfg, loc.Name), logger: s.logger, mod: m}
}

// begin returns key's load and whether the caller must run it; nil when
// the Source is closed.
func (s *Source) begin(key moduleKey) (l *loading, mine bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false
	}
	if l, ok := s.loads[key]; ok {
		return l, false
	}
	l = &loading{done: make(chan struct{})}
	s.loads[key] = l
	s.busy++
	return l, true
}

// run loads loc's module into l and publishes the result.
func (s *Source) run(ctx context.Context, loc Location, settings config.Strategy, key moduleKey, l *loading) {
	m, err := s.load(ctx, loc, settings)
	s.mu.Lock()
	s.busy--
	if err != nil && s.loads[key] == l {
		delete(s.loads, key)
	}
	if s.closed && err == nil {
		m, err = nil, fmt.Errorf("strategy %s: host is closed", loc.Name) // the engine close releases its module
	}
	closeEngine := s.closed && s.lateClose && s.busy == 0
	s.mu.Unlock()
	if closeEngine {
		if err := s.eng.close(context.Background()); err != nil {
			s.logger.Debug("closing the wasm runtime after a prefetch", "error", err)
		}
	}
	l.mod, l.err = m, err
	close(l.done)
}

// prefetchAfter starts loading the module of the strategy that follows name
// in the configured order, unless it is loaded or loading already (as it is
// when one module serves both).
func (s *Source) prefetchAfter(name string) {
	order := s.cfg.Discovery.Order
	i := slices.Index(order, name)
	if i < 0 || i+1 >= len(order) {
		return
	}
	loc, err := Resolve(s.cfg, order[i+1])
	if err != nil {
		return // the chain reports it when it gets there
	}
	settings := s.settings(loc.Name)
	key := moduleKey{loc.Path, pagesFor(settings.MemoryLimit)}
	if l, mine := s.begin(key); l != nil && mine {
		go s.run(s.bg, loc, settings, key, l)
	}
}

// load compiles and instantiates loc's module, under the timeout of the
// strategy that asked for it, so a wrong ABI version or a crashing init is a
// load error.
func (s *Source) load(ctx context.Context, loc Location, settings config.Strategy) (*module, error) {
	workers := s.CompileWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	st := s.newStrategy(loc, settings, nil)
	c, err := s.eng.compile(experimental.WithCompilationWorkers(ctx, workers), loc, settings.MemoryLimit, st.timeout(), checkShape)
	if err != nil {
		return nil, err
	}
	cm := c.cm
	m := newModule(loc.Path, c.rt, cm, c.took, &s.eng.instances)
	m.note = c.note
	st.mod = m
	ictx, cancel := context.WithTimeout(ctx, st.timeout())
	defer cancel()
	ictx = withCallState(ictx, &callState{strategy: loc.Name, logger: s.logger})
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.instantiate(ictx); err != nil {
		_ = cm.Close(context.WithoutCancel(ctx))
		var aerr *abiError
		if errors.As(err, &aerr) {
			return nil, fmt.Errorf("%s: %w", loc.Path, err)
		}
		_, why := st.classify(ctx, ictx, err, m.stderr.String())
		return nil, fmt.Errorf("%s: %s", loc.Path, why)
	}
	return m, nil
}

// Close releases every instance, compiled module and runtime. A prefetch
// still loading is cancelled and releases them when it stops, so Close does
// not wait for a module nobody will call.
func (s *Source) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.loads = map[moduleKey]*loading{}
	s.bgCancel()
	if s.unclaimed != nil {
		s.unclaimed.cancel()
		s.unclaimed = nil
	}
	if s.busy > 0 {
		s.lateClose = true
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	return s.eng.close(ctx)
}
