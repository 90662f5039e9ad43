package host

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// module is one compiled .wasm and its one instance, shared by every
// strategy the module serves. The built-in module serves all three built-in
// strategies, so a chain that reaches the third pays one compile-cache hit
// and one instantiate, not three (docs/PERFORMANCE.md).
//
// Calls are serialized on mu, whichever strategy makes them: a Go guest is
// single-threaded and concurrent calls corrupt it (and can kill the host).
// After any error or trap the instance is closed, since the guest's runtime
// state is undefined; the next call, of whichever strategy, instantiates
// afresh from the compiled module (a few ms).
type module struct {
	path        string
	rt          wazero.Runtime
	compiled    wazero.CompiledModule
	compileTime time.Duration  // for `plugins warm`; a cache hit is mostly validation
	note        string         // how it was compiled, when the record should say (compile.go)
	instances   *atomic.Uint64 // the engine's instance counter: names stay unique per runtime

	mu     sync.Mutex
	inst   api.Module
	info   *moduleInfo // fgr_info, read once on demand (describe)
	stdout *cappedWriter
	stderr *cappedWriter

	// sleepUntil ends the guest's sleeps (poll_oneoff, nanosleep) when the
	// current call's context ends: wazero's CloseOnContextDone stops guest
	// code, not a host function it is blocked in, so without this a guest
	// asleep for an hour would hold the fence for an hour.
	sleepUntil atomic.Pointer[sleepBound]
}

type sleepBound struct{ done <-chan struct{} }

// boundSleeps makes the guest's sleeps end with ctx. Callers hold m.mu.
func (m *module) boundSleeps(ctx context.Context) {
	m.sleepUntil.Store(&sleepBound{done: ctx.Done()})
}

// nanosleep is the guest's clock sleep. Returning early is allowed (a
// sleep may be interrupted) and is what stops it: the guest's next
// instruction finds its context done and is closed.
func (m *module) nanosleep(ns int64) {
	var done <-chan struct{}
	if b := m.sleepUntil.Load(); b != nil {
		done = b.done
	}
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-done:
	}
}

// moduleInfo is what fgr_info answers; zero for a module without it.
type moduleInfo struct {
	Name       string                `json:"name"`
	Strategies []string              `json:"strategies"`
	Reporters  []string              `json:"reporters"` // reporter.go
	Commands   map[string][][]string `json:"commands"`  // per strategy: what it needs, alternatives together (checked by inspect.go)
	SDK        string                `json:"sdk"`
}

func newModule(path string, rt wazero.Runtime, cm wazero.CompiledModule, took time.Duration, instances *atomic.Uint64) *module {
	return &module{path: path, rt: rt, compiled: cm, compileTime: took, instances: instances,
		stdout: &cappedWriter{max: maxGuestOutput}, stderr: &cappedWriter{max: maxGuestOutput}}
}

// instantiate starts a fresh instance (running the Go runtime's
// _initialize) and checks its ABI version. Callers hold m.mu. The guest's
// init runs with no commands granted: it belongs to no one strategy.
func (m *module) instantiate(ctx context.Context) error {
	ctx = withCallState(ctx, &callState{strategy: "(init of " + filepath.Base(m.path) + ")", logger: callStateFrom(ctx).logger})
	m.stdout.Reset()
	m.stderr.Reset()
	m.boundSleeps(ctx)
	mc := wazero.NewModuleConfig().
		WithName(strings.TrimSuffix(filepath.Base(m.path), ".wasm") + "#" + strconv.FormatUint(m.instances.Add(1), 10)).
		WithStartFunctions(exportInitialize).
		// Real clocks (the defaults are fake and make time.Sleep a no-op),
		// and a real sleep that ends with the call (nanosleep).
		WithSysWalltime().WithSysNanotime().WithNanosleep(m.nanosleep).
		WithRandSource(rand.Reader).
		WithStdout(m.stdout).WithStderr(m.stderr)
	// No WithFS, WithEnv or WithArgs: the guest sees no files, no
	// environment and no arguments; its only reach is fgr.exec.
	inst, err := m.rt.InstantiateModule(ctx, m.compiled, mc)
	if err != nil {
		return err
	}
	res, err := inst.ExportedFunction(exportABIVersion).Call(ctx)
	if err != nil {
		_ = inst.Close(ctx)
		return err
	}
	if v := api.DecodeI32(res[0]); v != ABIVersion {
		_ = inst.Close(ctx)
		return &abiError{got: v}
	}
	m.inst = inst
	return nil
}

func (m *module) closeInstance(ctx context.Context) {
	if m.inst != nil {
		_ = m.inst.Close(context.WithoutCancel(ctx))
		m.inst = nil
	}
}

// describe returns what fgr_info says, calling it once. The fence path
// never needs it (a module asked for a strategy it does not serve says so
// itself); `plugins list|verify` and monitor do. Callers hold m.mu.
func (m *module) describe(ctx context.Context) (moduleInfo, error) {
	if m.info != nil {
		return *m.info, nil
	}
	if m.inst == nil {
		if err := m.instantiate(ctx); err != nil {
			return moduleInfo{}, err
		}
	}
	m.boundSleeps(ctx)
	var info moduleInfo
	if fn := m.inst.ExportedFunction(exportInfo); fn != nil {
		res, err := fn.Call(ctx)
		if err != nil {
			m.closeInstance(ctx)
			return moduleInfo{}, fmt.Errorf("fgr_info failed: %v", err)
		}
		raw, err := readPacked(m.inst, res[0], maxInfoBytes, exportInfo)
		if err != nil {
			return moduleInfo{}, err
		}
		if err := json.Unmarshal(raw, &info); err != nil {
			return moduleInfo{}, fmt.Errorf("fgr_info answered invalid JSON: %v", err)
		}
	}
	m.info = &info
	return info, nil
}

// serves checks that info lets the module answer as strategy name: a
// module that lists several strategies answers only as one of them; one that
// lists one or none answers under whatever name the configuration gives it
// (strategies.<name>.file).
func (info moduleInfo) serves(name string) error {
	if len(info.Strategies) <= 1 || slices.Contains(info.Strategies, name) {
		return nil
	}
	return &NotServedError{Name: name, Serves: info.Strategies}
}

// NotServedError is a module loaded as a strategy it does not serve.
type NotServedError struct {
	Name   string   // the strategy it was loaded as
	Serves []string // what its fgr_info lists
}

func (e *NotServedError) Error() string {
	return "the module serves strategies " + strings.Join(e.Serves, ", ") + ", not " + e.Name
}
