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
	instances   *atomic.Uint64 // the engine's instance counter: names stay unique per runtime

	mu     sync.Mutex
	inst   api.Module
	info   *moduleInfo // fgr_info, read once on demand (describe)
	stdout *cappedWriter
	stderr *cappedWriter
}

// moduleInfo is what fgr_info answers; zero for a module without it.
type moduleInfo struct {
	Name       string   `json:"name"`
	Strategies []string `json:"strategies"`
	Reporters  []string `json:"reporters"` // reporter.go
	SDK        string   `json:"sdk"`
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
	mc := wazero.NewModuleConfig().
		WithName(strings.TrimSuffix(filepath.Base(m.path), ".wasm") + "#" + strconv.FormatUint(m.instances.Add(1), 10)).
		WithStartFunctions(exportInitialize).
		// Real clocks: the defaults are fake and make time.Sleep a no-op.
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().
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
