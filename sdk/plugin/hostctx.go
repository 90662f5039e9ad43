package plugin

// hostContext is the Context a strategy gets inside the host. It speaks to
// the host only through hostExec, hostTake and hostLog, which are
// //go:wasmimport functions in a wasip1 build (imports_wasip1.go) and stubs
// that report "no host" natively (imports_stub.go).
type hostContext struct{ logger *Logger }

func newHostContext() hostContext {
	return hostContext{logger: NewLogger(hostLog)}
}

// Exec runs a granted command.
func (c hostContext) Exec(name string, args ...string) (*ExecResult, error) {
	return c.exec(name, encodeExecRequest(name, args))
}

// exec sends one fgr.exec request for command name in two steps, fgr.exec
// then fgr.take, so the host never has to call back into the guest while
// inside an import.
func (c hostContext) exec(name string, request []byte) (*ExecResult, error) {
	n := hostExec(request)
	if n == 0 {
		return nil, &execError{msg: "exec " + name + ": the host returned no result (not running under fence_gfs2_recorder?)"}
	}
	frame := make([]byte, n)
	if got := hostTake(frame); got != n {
		return nil, &execError{msg: "exec " + name + ": the host's result changed size between exec and take"}
	}
	return decodeFrame(name, frame)
}

func (c hostContext) Logger() *Logger { return c.logger }
