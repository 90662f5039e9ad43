package host

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/execcap"
)

// callState is what the host functions need while one guest call runs. It
// travels in the call's context: wazero hands that context to every host
// function, so one host module instance serves every guest without a lookup
// table keyed by module.
type callState struct {
	strategy    string
	grants      execcap.Grants
	logger      *slog.Logger
	pending     []byte // exec result frame waiting for fgr.take
	calls       []discovery.HostCall
	logs        []discovery.LogLine
	logBytes    int // of the lines kept
	droppedLogs int
	// onExec runs once, when the guest first asks for a command: the host
	// is about to sit idle waiting for it (Source.Prefetch).
	onExec func()
	// head is a command started before the guest asked (headstart.go); the
	// guest's first request either claims it or ends it.
	head *headStart
}

type callStateKey struct{}

func withCallState(ctx context.Context, st *callState) context.Context {
	return context.WithValue(ctx, callStateKey{}, st)
}

func callStateFrom(ctx context.Context) *callState {
	if st, ok := ctx.Value(callStateKey{}).(*callState); ok {
		return st
	}
	// A guest calling in outside a host-initiated call (cannot happen with
	// the host below) gets an inert state: denied everything, logs dropped.
	return &callState{strategy: "?", logger: slog.New(slog.DiscardHandler)}
}

// instantiateHostModule defines module "fgr" with every import of ABI v1. A
// guest imports only what it uses; the SDK imports all three.
func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(hostModule)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostExec), hostImports[importExec].params, hostImports[importExec].results).
		WithParameterNames("req_ptr", "req_len").WithResultNames("frame_len").
		Export(importExec)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostTake), hostImports[importTake].params, hostImports[importTake].results).
		WithParameterNames("buf_ptr", "buf_limit").WithResultNames("frame_len").
		Export(importTake)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostLog), hostImports[importLog].params, hostImports[importLog].results).
		WithParameterNames("level", "msg_ptr", "msg_len").
		Export(importLog)
	_, err := b.Instantiate(ctx)
	return err
}

type execRequest struct {
	Name string   `json:"name"`
	Args []string `json:"args"`
	// Stdin, optional, is written to the command's standard input (a
	// body for `kubectl create -f -`); absent means /dev/null.
	Stdin *string `json:"stdin"`
}

// hostExec runs a granted command and keeps its result frame for fgr.take.
// It never traps on bad input: a malformed request comes back as a
// start_failed frame whose error says what was wrong, so the guest can report it.
func hostExec(ctx context.Context, mod api.Module, stack []uint64) {
	st := callStateFrom(ctx)
	if f := st.onExec; f != nil {
		st.onExec = nil
		f()
	}
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	start := time.Now()
	frame, call := runExec(ctx, st, mod, ptr, n)
	call.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	st.calls = append(st.calls, call)
	st.pending = frame
	stack[0] = api.EncodeU32(uint32(len(frame)))
}

func runExec(ctx context.Context, st *callState, mod api.Module, ptr, n uint32) ([]byte, discovery.HostCall) {
	fail := func(call discovery.HostCall, flags uint32, msg string) ([]byte, discovery.HostCall) {
		call.ExitCode, call.Error = -1, msg
		st.logger.Warn("strategy command not run", "strategy", st.strategy, "command", call.Command, "reason", msg)
		return encodeFrame(-1, flags, nil, nil, msg), call
	}
	if n > maxExecRequest {
		return fail(discovery.HostCall{}, flagStartFailed, "exec request of "+strconv.Itoa(int(n))+" bytes is over the 1 MiB limit")
	}
	raw, ok := mod.Memory().Read(ptr, n)
	if !ok {
		return fail(discovery.HostCall{}, flagStartFailed, "exec request is outside guest memory")
	}
	var req execRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return fail(discovery.HostCall{}, flagStartFailed, "exec request is not valid JSON {\"name\",\"args\"}: "+err.Error())
	}
	call := discovery.HostCall{Command: req.Name, Args: req.Args}
	cmd, err := st.grants.Lookup(req.Name)
	if err != nil {
		call.Denied = true
		return fail(call, flagDenied, err.Error())
	}
	for _, a := range req.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return fail(call, flagStartFailed, "argument contains a NUL byte")
		}
	}
	res, ok := st.claimHeadStart(ctx, req)
	if ok {
		call.HeadStart = true
	} else if req.Stdin != nil {
		res = execcap.RunInput(ctx, cmd, req.Args, []byte(*req.Stdin))
	} else {
		res = execcap.Run(ctx, cmd, req.Args)
	}
	var flags uint32
	if res.TimedOut {
		flags |= flagTimedOut
	}
	if res.StdoutTruncated {
		flags |= flagStdoutTruncated
	}
	if res.StderrTruncated {
		flags |= flagStderrTruncated
	}
	call.ExitCode, call.TimedOut = res.ExitCode, res.TimedOut
	call.Truncated = res.StdoutTruncated || res.StderrTruncated
	errMsg := ""
	if res.Err != nil {
		if res.StartFailed {
			flags |= flagStartFailed
		}
		errMsg = cmd.Name + ": " + res.Err.Error()
		call.Error = errMsg
	}
	if res.ExitCode != 0 || res.TimedOut {
		call.Stderr = head(res.Stderr, 512)
	}
	st.logger.Debug("strategy command", "strategy", st.strategy, "command", req.Name,
		"exit_code", res.ExitCode, "duration", res.Duration, "stdout_bytes", len(res.Stdout),
		"timed_out", res.TimedOut, "truncated", call.Truncated)
	return encodeFrame(int32(res.ExitCode), flags, res.Stdout, res.Stderr, errMsg), call
}

// claimHeadStart returns the result of the command started ahead for this
// call when the request is exactly that command; any other first request
// ends it. Only the first request may claim it.
func (st *callState) claimHeadStart(ctx context.Context, req execRequest) (execcap.Result, bool) {
	h := st.head
	if h == nil {
		return execcap.Result{}, false
	}
	st.head = nil
	if !h.matches(req.Name, req.Args) || req.Stdin != nil { // the early command read no input
		h.cancel()
		st.logger.Debug("head start: the strategy asked for another command; ended the early one",
			"strategy", st.strategy, "started", h.args, "asked", req.Args)
		return execcap.Result{}, false
	}
	return h.wait(ctx)
}

// hostTake copies the pending frame into the guest's buffer when it fits and
// then forgets it; either way it returns the frame's length (0: none). A guest
// whose buffer is too small learns the size and may call again.
func hostTake(ctx context.Context, mod api.Module, stack []uint64) {
	st := callStateFrom(ctx)
	ptr, limit := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	n := uint32(len(st.pending))
	if n > 0 && n <= limit {
		if !mod.Memory().Write(ptr, st.pending) {
			// A buffer outside its own memory is a guest bug: trap.
			panic(errors.New("fgr.take: buffer outside guest memory"))
		}
		st.pending = nil
	}
	stack[0] = api.EncodeU32(n)
}

// hostLog passes a guest line to the operational log and the attempt,
// within the per-call limits (maxLogLines, maxLogBytes); what is over them is
// counted, said once in the operational log, and summed up in the attempt.
func hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	st := callStateFrom(ctx)
	level := slog.Level(api.DecodeI32(stack[0]))
	ptr, n := api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	cut := n > maxLogMessage
	if cut {
		n = maxLogMessage
	}
	raw, ok := mod.Memory().Read(ptr, n)
	if !ok {
		panic(errors.New("fgr.log: message outside guest memory"))
	}
	if len(st.logs) >= maxLogLines || st.logBytes+len(raw) > maxLogBytes {
		if st.droppedLogs == 0 {
			st.logger.Warn("guest log limit reached: further lines of this call are counted, not logged",
				"strategy", st.strategy, "limit", st.logLimit())
		}
		st.droppedLogs++
		return
	}
	msg := strings.ToValidUTF8(string(raw), "\uFFFD")
	if cut {
		msg += "…(cut)"
	}
	st.logBytes += len(raw)
	st.logger.Log(ctx, level, msg, "strategy", st.strategy, "source", "guest")
	st.logs = append(st.logs, discovery.LogLine{Level: level.String(), Msg: msg})
}

func (st *callState) logLimit() string {
	return strconv.Itoa(maxLogLines) + " lines or " + strconv.Itoa(maxLogBytes>>10) + " KiB per call"
}

// droppedLogsLine is the attempt's one line about what hostLog dropped.
func (st *callState) droppedLogsLine() discovery.LogLine {
	return discovery.LogLine{Level: "WARN",
		Msg: strconv.Itoa(st.droppedLogs) + " more guest log lines dropped (limit " + st.logLimit() + ")"}
}

func head(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
