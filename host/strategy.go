package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/execcap"
)

// strategy is one configured strategy: a name with its own timeout,
// command grants and config section, answered by a module it may share with
// others (module.go).
type strategy struct {
	name     string
	loc      Location
	settings config.Strategy
	grants   execcap.Grants
	logger   *slog.Logger
	mod      *module

	// prefetch, when set, is run at the first command of the first call
	// (Source.Prefetch). Guarded by mu.
	prefetch func()
	// early is the command Source.Prepare started for this strategy's
	// first call; planDir, when set, is where its first command is
	// remembered for the next fence (headstart.go). early is guarded by mu.
	mu      sync.Mutex
	early   *headStart
	planDir string
}

func (s *strategy) timeout() time.Duration {
	if s.settings.Timeout > 0 {
		return s.settings.Timeout
	}
	return config.DefaultStrategyTimeout
}

// source is what Attempt.Source says: "builtin" or the module's path.
func (s *strategy) source() string {
	if s.loc.Kind == KindBuiltin {
		return KindBuiltin
	}
	return s.loc.Path
}

type abiError struct{ got int32 }

func (e *abiError) Error() string {
	return fmt.Sprintf("plugin ABI version %d, host supports %d", e.got, ABIVersion)
}

type discoverRequest struct {
	ABI      int            `json:"abi"`
	Strategy string         `json:"strategy"`
	Node     string         `json:"node"`
	Action   string         `json:"action"`
	Config   map[string]any `json:"config"`
}

type discoverResponse struct {
	Filesystems []string       `json:"filesystems"`
	Details     map[string]any `json:"details"`
	Error       string         `json:"error"`
	// DetailsError is set by a guest whose details could not be encoded.
	DetailsError string `json:"details_error"`
}

// Discover implements discovery.Strategy.
func (s *strategy) Discover(ctx context.Context, t discovery.Target) (a discovery.Attempt) {
	a = discovery.Attempt{Strategy: s.name, Source: s.source()}
	// The chain refuses such a target before it loads anything; saying no
	// here too keeps a guest from ever seeing one, whoever calls Discover.
	if problem := t.Problem(); problem != "" {
		a.Outcome, a.Error = discovery.OutcomeInvalidTarget, problem+"; no command was run"
		return a
	}
	m, release := s.callModule(ctx)
	defer release()
	defer func() {
		// How the module was compiled, when the record should know
		// (compiled in memory because the cache could not be written).
		if note := s.mod.note; note != "" {
			if a.Details == nil {
				a.Details = map[string]any{}
			}
			a.Details["compile_cache"] = note
		}
	}()
	budget := ctx
	callCtx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	s.mu.Lock()
	st := &callState{strategy: s.name, grants: s.grants, logger: s.logger, onExec: s.prefetch, head: s.early}
	s.prefetch, s.early = nil, nil
	s.mu.Unlock()
	defer func() {
		if st.head != nil {
			st.head.cancel() // the guest never asked for a command: nobody needs it
		}
	}()
	callCtx = withCallState(callCtx, st)
	m.boundSleeps(callCtx)

	m.stdout.Reset()
	m.stderr.Reset()
	resp, err := s.call(callCtx, m, t)
	a.Calls = st.calls
	s.learn(st.calls, t.Node)
	a.Logs = st.logs
	if st.droppedLogs > 0 {
		a.Logs = append(a.Logs, st.droppedLogsLine())
	}
	s.logGuestOutput(ctx, m)
	if err != nil {
		m.closeInstance(ctx)
		a.Outcome, a.Error = s.classify(budget, callCtx, err, m.stderr.String())
		return a
	}
	if resp.Error != "" {
		// The instance is closed after any error so a confused guest never
		// carries its state into the next call.
		m.closeInstance(ctx)
		a.Outcome, a.Error = errorOutcome(st.calls), resp.Error
		a.Details = resp.Details
		return a
	}
	a.Filesystems = resp.Filesystems
	a.Details = resp.Details
	if resp.DetailsError != "" {
		if a.Details == nil {
			a.Details = map[string]any{}
		}
		a.Details["details_error"] = resp.DetailsError
	}
	if len(a.Filesystems) > 0 {
		a.Outcome = discovery.OutcomeFound
	} else {
		a.Outcome = discovery.OutcomeEmpty
	}
	return a
}

// callModule returns the module instance one call runs on, and how to give
// it back. A Go guest is single-threaded, so two calls never share an
// instance: the module's own instance when no other call holds it, else
// (a hedged strategy served by the same module, or a second chain) a fresh
// instance of the same compiled module that lives for this call only. The
// compile is shared either way; an instance costs a few ms.
func (s *strategy) callModule(ctx context.Context) (*module, func()) {
	m := s.mod
	if m.mu.TryLock() {
		return m, m.mu.Unlock
	}
	own := newModule(m.path, m.rt, m.compiled, m.compileTime, m.instances)
	own.mu.Lock()
	return own, func() {
		own.closeInstance(ctx)
		own.mu.Unlock()
	}
}

// errorOutcome names a guest-reported failure by its cause when the host
// saw it: a denied or timed-out command says more than "error".
func errorOutcome(calls []discovery.HostCall) discovery.Outcome {
	for _, c := range calls {
		if c.Denied {
			return discovery.OutcomeDenied
		}
	}
	if n := len(calls); n > 0 && calls[n-1].TimedOut {
		return discovery.OutcomeTimeout
	}
	return discovery.OutcomeError
}

// call runs one request through the ABI: fgr_alloc, write, fgr_discover,
// read the answer out of guest memory. Callers hold m.mu.
func (s *strategy) call(ctx context.Context, m *module, t discovery.Target) (discoverResponse, error) {
	if m.inst == nil {
		if err := m.instantiate(ctx); err != nil {
			return discoverResponse{}, err
		}
	}
	cfg := s.settings.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	req, err := json.Marshal(discoverRequest{ABI: ABIVersion, Strategy: s.name, Node: t.Node, Action: t.Action, Config: cfg})
	if err != nil {
		return discoverResponse{}, fmt.Errorf("encoding the request: %w", err)
	}
	res, err := m.inst.ExportedFunction(exportAlloc).Call(ctx, api.EncodeU32(uint32(len(req))))
	if err != nil {
		return discoverResponse{}, err
	}
	ptr := api.DecodeU32(res[0])
	if ptr == 0 || !m.inst.Memory().Write(ptr, req) {
		return discoverResponse{}, &protocolError{fmt.Sprintf("fgr_alloc(%d) returned %#x, which is not a usable buffer", len(req), ptr)}
	}
	res, err = m.inst.ExportedFunction(exportDiscover).Call(ctx, api.EncodeU32(ptr), api.EncodeU32(uint32(len(req))))
	if err != nil {
		return discoverResponse{}, err
	}
	out, err := readPacked(m.inst, res[0], maxResponseBytes, exportDiscover)
	if err != nil {
		return discoverResponse{}, err
	}
	var resp discoverResponse
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&resp); err != nil {
		return discoverResponse{}, &protocolError{"fgr_discover answered invalid JSON: " + err.Error()}
	}
	if n := len(resp.Filesystems); n > maxFilesystems {
		return discoverResponse{}, &protocolError{fmt.Sprintf("fgr_discover answered %d filesystem names, over the limit of %d", n, maxFilesystems)}
	}
	for i, fs := range resp.Filesystems {
		if fs == "" || len(fs) > 1024 || strings.ContainsAny(fs, "\x00\n") {
			return discoverResponse{}, &protocolError{fmt.Sprintf("fgr_discover answered an unusable filesystem name at index %d: %q", i, head([]byte(fs), 80))}
		}
	}
	return resp, nil
}

// readPacked copies out the (ptr<<32)|len region a guest export returned.
// The copy matters: a view of guest memory goes stale when it grows.
func readPacked(inst api.Module, packed uint64, limit uint32, export string) ([]byte, error) {
	ptr, n := uint32(packed>>32), uint32(packed)
	if n > limit {
		return nil, &protocolError{fmt.Sprintf("%s answered %d bytes, over the %d byte limit", export, n, limit)}
	}
	view, ok := inst.Memory().Read(ptr, n)
	if !ok {
		return nil, &protocolError{fmt.Sprintf("%s answered a region [%#x, +%d) outside guest memory", export, ptr, n)}
	}
	return bytes.Clone(view), nil
}

// protocolError is a guest that broke the ABI without trapping.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

// classify turns a failed call into an outcome and a sentence an operator
// can act on.
// guestStderr is what the instance wrote to stderr.
func (s *strategy) classify(budget, callCtx context.Context, err error, guestStderr string) (discovery.Outcome, string) {
	var exit *sys.ExitError
	var perr *protocolError
	var aerr *abiError
	switch {
	case errors.Is(budget.Err(), context.Canceled):
		return discovery.OutcomeTimeout, "discovery was cancelled while " + s.name + " was running"
	case budget.Err() != nil:
		return discovery.OutcomeTimeout, "discovery budget ran out while " + s.name + " was running"
	case callCtx.Err() != nil || errors.As(err, &exit) && (exit.ExitCode() == sys.ExitCodeDeadlineExceeded || exit.ExitCode() == sys.ExitCodeContextCanceled):
		return discovery.OutcomeTimeout, fmt.Sprintf("strategy timeout of %s exceeded; the guest was stopped", s.timeout())
	case errors.As(err, &aerr):
		return discovery.OutcomeLoadError, err.Error()
	case errors.As(err, &perr):
		return discovery.OutcomeError, err.Error()
	case errors.As(err, &exit):
		return discovery.OutcomeCrashed, withGuestReason(fmt.Sprintf("guest exited with code %d", exit.ExitCode()), guestStderr)
	}
	return discovery.OutcomeCrashed, withGuestReason("guest trapped: "+firstLine(err.Error()), guestStderr)
}

// withGuestReason quotes the line of the guest's stderr that says why it
// died (Go prints panics and fatal errors there, not in the trap).
func withGuestReason(what, stderr string) string {
	if line := crashLine(stderr); line != "" {
		return line + " (" + what + ")"
	}
	return what
}

func crashLine(stderr string) string {
	var fallback string
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "runtime: out of memory"):
			return line
		case fallback == "" && (strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")):
			fallback = line
		}
	}
	return fallback
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (s *strategy) logGuestOutput(ctx context.Context, m *module) {
	if out := m.stdout.String(); out != "" {
		s.logger.DebugContext(ctx, "guest stdout", "strategy", s.name, "text", out)
	}
	if out := m.stderr.String(); out != "" {
		s.logger.DebugContext(ctx, "guest stderr", "strategy", s.name, "text", out)
	}
}

// cappedWriter keeps the first max bytes the guest writes to stdout/stderr.
type cappedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - w.buf.Len(); room > 0 {
		if len(p) > room {
			w.buf.Write(p[:room])
		} else {
			w.buf.Write(p)
		}
	}
	return len(p), nil
}

func (w *cappedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *cappedWriter) Reset() {
	w.mu.Lock()
	w.buf.Reset()
	w.mu.Unlock()
}
