package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/execcap"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/abi"
)

// Reporters are the second kind of guest: after a record is durable, the
// delivery process (never the fence itself) hands it to each configured
// reporter through the fgr_report export. They load like strategies (same
// file checks, runtimes, compile cache, instance reuse and sandbox), each
// under its own timeout, memory limit and command grants
// (reporting.reporters.<name>). A module may serve strategies, reporters or
// both: the built-in module serves k8s-event beside the three strategies.

// exportReport is the reporter export of ABI v1 (docs/ABI.md "fgr_report"):
// the request is written into an fgr_alloc buffer as for fgr_discover.
const exportReport = abi.ExportReport

// reporterCompileWait is the least a reporter's load waits for its compile.
const reporterCompileWait = time.Minute

var reportSignature = func() signature {
	f, _ := abi.Lookup(abi.Exports, exportReport)
	return sigFor(f)
}()

// Reporters loads reporter modules on first use and delivers records to
// them. Safe for concurrent use; calls into one module are serialized.
type Reporters struct {
	cfg    *config.Config
	logger *slog.Logger
	eng    *engine

	mu   sync.Mutex
	mods map[moduleKey]*module
}

// NewReporters prepares reporters; nothing is read until Report. A nil
// logger discards.
func NewReporters(cfg *config.Config, logger *slog.Logger) *Reporters {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Reporters{cfg: cfg, logger: logger, eng: newEngine(cfg.CacheDir, logger), mods: map[moduleKey]*module{}}
}

// ResolveReporter finds reporter name's module: reporting.reporters.<name>.file,
// else for a built-in reporter the built-in module, else
// <plugin_dir>/<name>.wasm.
func ResolveReporter(cfg *config.Config, name string) (Location, error) {
	loc, searched, err := resolve(cfg, name, cfg.Reporting.Reporter(name).File, config.IsBuiltinReporter(name))
	if err == nil && loc.Path == "" {
		err = fmt.Errorf("unknown reporter %q: no reporting.reporters.%s.file and no module at %s",
			name, name, strings.Join(searched, " or "))
	}
	return loc, err
}

// reporterTimeout bounds one call of a reporter (and its instantiation).
func reporterTimeout(settings config.Strategy) time.Duration {
	if settings.Timeout > 0 {
		return settings.Timeout
	}
	return config.DefaultReporterTimeout
}

// Report delivers record (one JSON object, as written to the detailed log)
// to reporter name. nil means delivered; an error says why not, in a
// sentence for the operational log.
func (r *Reporters) Report(ctx context.Context, name string, record []byte) error {
	settings := r.cfg.Reporting.Reporter(name)
	m, err := r.module(ctx, name, settings)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	timeout := reporterTimeout(settings)
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	grants := execcap.NewGrantsFor(r.cfg, "reporting.reporters."+name+".allow", settings.Allow)
	callCtx = withCallState(callCtx, &callState{strategy: "reporter " + name, grants: grants, logger: r.logger})
	m.stdout.Reset()
	m.stderr.Reset()
	guestErr, err := r.call(callCtx, m, name, settings, record)
	if err == nil && guestErr == "" {
		return nil
	}
	m.closeInstance(ctx) // a failed guest never carries its state into the next call
	if err == nil {
		return fmt.Errorf("reporter %s: %s", name, guestErr)
	}
	return fmt.Errorf("reporter %s: %s", name, classifyReport(ctx, callCtx, err, timeout, m.stderr.String()))
}

// call runs one fgr_report. Callers hold m.mu.
func (r *Reporters) call(ctx context.Context, m *module, name string, settings config.Strategy, record []byte) (string, error) {
	if m.inst == nil {
		if err := m.instantiate(ctx); err != nil {
			return "", err
		}
	}
	cfg := settings.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	req, err := json.Marshal(struct {
		ABI      int             `json:"abi"`
		Reporter string          `json:"reporter"`
		Record   json.RawMessage `json:"record"`
		Config   map[string]any  `json:"config"`
	}{ABIVersion, name, record, cfg})
	if err != nil {
		return "", &protocolError{"encoding the report request: " + err.Error()}
	}
	res, err := m.inst.ExportedFunction(exportAlloc).Call(ctx, api.EncodeU32(uint32(len(req))))
	if err != nil {
		return "", err
	}
	ptr := api.DecodeU32(res[0])
	if ptr == 0 || !m.inst.Memory().Write(ptr, req) {
		return "", &protocolError{fmt.Sprintf("fgr_alloc(%d) returned %#x, which is not a usable buffer", len(req), ptr)}
	}
	fn := m.inst.ExportedFunction(exportReport)
	if fn == nil {
		return "", &protocolError{"the module does not export " + exportReport}
	}
	res, err = fn.Call(ctx, api.EncodeU32(ptr), api.EncodeU32(uint32(len(req))))
	if err != nil {
		return "", err
	}
	out, err := readPacked(m.inst, res[0], maxResponseBytes, exportReport)
	if err != nil {
		return "", err
	}
	var resp struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.Error == nil {
		return "", &protocolError{fmt.Sprintf("fgr_report answered %q, not {\"error\":\"...\"}", head(out, 80))}
	}
	return *resp.Error, nil
}

// classifyReport names a failed reporter call for the operational log.
func classifyReport(parent, callCtx context.Context, err error, timeout time.Duration, stderr string) string {
	var exit *sys.ExitError
	var perr *protocolError
	switch {
	case parent.Err() != nil:
		return "delivery was stopped while the reporter was running"
	case callCtx.Err() != nil || errors.As(err, &exit) && (exit.ExitCode() == sys.ExitCodeDeadlineExceeded || exit.ExitCode() == sys.ExitCodeContextCanceled):
		return "reporter timeout of " + timeout.String() + " exceeded; the guest was stopped"
	case errors.As(err, &perr):
		return err.Error()
	case errors.As(err, &exit):
		return withGuestReason(fmt.Sprintf("guest exited with code %d", exit.ExitCode()), stderr)
	}
	var aerr *abiError
	if errors.As(err, &aerr) {
		return err.Error()
	}
	return withGuestReason("guest trapped: "+firstLine(err.Error()), stderr)
}

// module loads (once) the module of reporter name, checking that it
// exports fgr_report and, when its fgr_info lists reporters, serves name.
func (r *Reporters) module(ctx context.Context, name string, settings config.Strategy) (*module, error) {
	loc, err := ResolveReporter(r.cfg, name)
	if err != nil {
		return nil, err
	}
	key := moduleKey{loc.Path, pagesFor(settings.MemoryLimit)}
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.mods[key]; ok {
		return m, nil
	}
	timeout := reporterTimeout(settings)
	// A reporter runs in the delivery process, off the fence path: its
	// compile may take longer than one delivery (still in a bounded child).
	c, err := r.eng.compile(ctx, loc, settings.MemoryLimit, max(timeout, reporterCompileWait), checkReporterShape)
	if err != nil {
		return nil, err
	}
	cm := c.cm
	m := newModule(loc.Path, c.rt, cm, c.took, &r.eng.instances)
	ictx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ictx = withCallState(ictx, &callState{strategy: "reporter " + name, logger: r.logger})
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.instantiate(ictx); err != nil {
		_ = cm.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("%s: %s", loc.Path, classifyReport(ctx, ictx, err, timeout, m.stderr.String()))
	}
	info, err := m.describe(ictx)
	if err != nil {
		m.closeInstance(ctx)
		_ = cm.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("%s: %w", loc.Path, err)
	}
	if info.SDK != "" && len(info.Reporters) == 0 {
		// The SDK exports fgr_report in every module; one that registered
		// no reporter lists none.
		m.closeInstance(ctx)
		_ = cm.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("%s: the module serves no reporter (its fgr_info lists none)", loc.Path)
	}
	if len(info.Reporters) > 1 && !slices.Contains(info.Reporters, name) {
		m.closeInstance(ctx)
		_ = cm.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("%s: the module serves reporters %s, not %s", loc.Path, strings.Join(info.Reporters, ", "), name)
	}
	r.mods[key] = m
	return m, nil
}

// checkReporterShape is checkShape for a reporter: fgr_report instead of
// fgr_discover (a module may export both).
func checkReporterShape(cm wazero.CompiledModule) error {
	exports := cm.ExportedFunctions()
	def, ok := exports[exportReport]
	if !ok {
		return fmt.Errorf("missing export %q: a reporter must export %s %s (is it built with the fence_gfs2_recorder SDK?)",
			exportReport, exportReport, reportSignature)
	}
	if got := sigOf(def); !sameSig(got, reportSignature) {
		return fmt.Errorf("export %s should be %s, but is %s", exportReport, reportSignature, got)
	}
	for _, want := range requiredExports {
		if want.name == exportDiscover {
			continue
		}
		def, ok := exports[want.name]
		if !ok {
			return fmt.Errorf("missing export %q: a reporter must export %s %s", want.name, want.name, want.sig)
		}
		if got := sigOf(def); !sameSig(got, want.sig) {
			return fmt.Errorf("export %s should be %s, but is %s", want.name, want.sig, got)
		}
	}
	if _, ok := exports[exportDiscover]; ok {
		// A module that serves strategies too passes the whole strategy
		// check, imports included.
		return checkShape(cm)
	}
	return checkMemoryAndImports(cm)
}

// ReporterStatus is what `plugins list` and monitor say about a reporter.
type ReporterStatus struct {
	Name string
	Path string
	Kind string
	Err  error // nil: it loads and serves the name
}

// InspectReporters loads every reporter of reporting.order as delivery
// would, without delivering anything.
func InspectReporters(ctx context.Context, cfg *config.Config) []ReporterStatus {
	r := NewReporters(cfg, nil)
	defer r.Close(context.WithoutCancel(ctx))
	out := make([]ReporterStatus, 0, len(cfg.Reporting.Order))
	for _, name := range cfg.Reporting.Order {
		st := ReporterStatus{Name: name}
		if loc, err := ResolveReporter(cfg, name); err == nil {
			st.Path, st.Kind = loc.Path, loc.Kind
		}
		_, st.Err = r.module(ctx, name, cfg.Reporting.Reporter(name))
		out = append(out, st)
	}
	return out
}

// Close releases every module and runtime.
func (r *Reporters) Close(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mods = map[moduleKey]*module{}
	return r.eng.close(ctx)
}

// InspectReporterFile checks path as reporter name would load it (for
// `plugins verify`) and returns the reporters its fgr_info lists.
func InspectReporterFile(ctx context.Context, cfg *config.Config, name, path string) ([]string, error) {
	c := *cfg
	c.Reporting.Reporters = map[string]config.Strategy{name: {File: path,
		Timeout: config.DefaultReporterTimeout, MemoryLimit: config.DefaultMemoryLimit}}
	r := NewReporters(&c, nil)
	defer r.Close(context.WithoutCancel(ctx))
	m, err := r.module(ctx, name, c.Reporting.Reporters[name])
	if err != nil {
		return nil, err
	}
	if m.info == nil || len(m.info.Reporters) == 0 {
		return []string{name}, nil
	}
	return m.info.Reporters, nil
}
