package plugin

import (
	"errors"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/abi"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/intfmt"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite"
)

// This file is the encoding half of the guest glue (docs/ABI.md). It is
// plain Go, built natively too, so the codec is tested with `go test`; the
// wasip1-only files only move bytes across the boundary.

// ABIVersion is the fgr ABI this SDK speaks; the host refuses any other.
const ABIVersion = abi.Version

// SDKVersion identifies this SDK in fgr_info (shown by `plugins list`).
const SDKVersion = "go-sdk/1.0"

// serve decodes one request, runs the registered strategy with ctx, and
// returns the response document. Every failure becomes a response with a
// non-empty "error": the host must always get a well-formed answer.
func serve(raw []byte, ctx Context) []byte {
	req, err := decodeRequest(raw)
	if err != nil {
		return encodeResponse(Result{}, err)
	}
	fn, err := lookup(req.Strategy)
	if err != nil {
		return encodeResponse(Result{}, err)
	}
	res, err := fn(ctx, req)
	return encodeResponse(res, err)
}

// decodeRequest reads {"abi":1,"strategy":..,"node":..,"action":..,"config":{..}}.
func decodeRequest(raw []byte) (Request, error) {
	var req Request
	err := decodeHostCall(raw, "request", func(r *jsonlite.Reader, key string) error {
		var err error
		switch key {
		case "strategy":
			req.Strategy, err = r.String()
		case "node":
			req.Node, err = r.String()
		case "action":
			req.Action, err = r.String()
		case "config":
			req.Config, err = readConfig(r, "request")
		}
		return err
	})
	if err != nil {
		return Request{}, err
	}
	if req.Config == nil {
		req.Config = map[string]any{}
	}
	return req, nil
}

// decodeHostCall reads the one JSON object the host passes to an export,
// which what names in errors: it reads "abi" and refuses any version but
// ABIVersion, and hands every other member to member. A member that member
// leaves unread is skipped, so the host may add some.
func decodeHostCall(raw []byte, what string, member func(r *jsonlite.Reader, key string) error) error {
	abi := int64(-1)
	r := jsonlite.NewReader(raw)
	err := r.Object(func(key string) error {
		if key == "abi" {
			var err error
			abi, err = r.Int()
			return err
		}
		return member(r, key)
	})
	if err == nil {
		err = r.End()
	}
	if err != nil {
		return errors.New("plugin: bad " + what + " from host: " + err.Error())
	}
	if abi != ABIVersion {
		return errors.New("plugin: host sent ABI version " + intfmt.Itoa(int(abi)) + ", this SDK speaks " + intfmt.Itoa(ABIVersion))
	}
	return nil
}

// readConfig reads the "config" member of a host request (what names the
// request in errors): an object, or null for none.
func readConfig(r *jsonlite.Reader, what string) (map[string]any, error) {
	if r.Peek() == jsonlite.Null {
		return nil, r.Null()
	}
	v, err := r.Value()
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("plugin: " + what + " config is not an object")
	}
	return m, nil
}

// encodeResponse writes {"filesystems":[..],"details":{..},"error":".."}.
// Details the writer cannot encode are replaced by an error saying so rather
// than dropped silently.
func encodeResponse(res Result, err error) []byte {
	w := jsonlite.NewWriter(make([]byte, 0, 256))
	w.ObjectStart()
	w.Key("filesystems")
	w.ArrayStart()
	if err == nil {
		for _, fs := range res.Filesystems {
			w.String(fs)
		}
	}
	w.ArrayEnd()
	msg := ""
	if err != nil {
		msg = err.Error()
		if msg == "" {
			msg = "strategy failed without a message"
		}
	}
	if len(res.Details) > 0 {
		// The Writer's errors are sticky, so try the details on a scratch
		// Writer first: a strategy that answered but whose details cannot
		// be encoded still answered, and keeps its filesystems.
		if derr := jsonlite.NewWriter(nil).Value(res.Details); derr != nil {
			w.Key("details_error")
			w.String(derr.Error())
		} else {
			w.Key("details")
			w.Value(res.Details)
		}
	}
	if msg != "" {
		w.Key("error")
		w.String(msg)
	}
	w.ObjectEnd()
	if w.Err() != nil {
		// Only reachable by a bug in this function; answer something valid.
		return []byte(`{"filesystems":[],"error":"plugin: response encoding failed"}`)
	}
	return w.Bytes()
}

// encodeExecRequest writes {"name":..,"args":[..]} for fgr.exec.
func encodeExecRequest(name string, args []string) []byte {
	return encodeExec(name, args, nil, false)
}

// encodeExec writes an fgr.exec request, with the optional "stdin" member
// when withStdin: without it the host gives the command /dev/null, which an
// empty "stdin" is not (docs/ABI.md).
func encodeExec(name string, args []string, stdin []byte, withStdin bool) []byte {
	w := jsonlite.NewWriter(make([]byte, 0, 64+16*len(args)+len(stdin)))
	w.ObjectStart()
	w.Key("name")
	w.String(name)
	w.Key("args")
	w.ArrayStart()
	for _, a := range args {
		w.String(a)
	}
	w.ArrayEnd()
	if withStdin {
		w.Key("stdin")
		w.String(string(stdin))
	}
	w.ObjectEnd()
	return w.Bytes()
}

// decodeFrame turns an exec result frame into what Exec returns. Denied and
// start failures are errors; everything else is an ExecResult.
func decodeFrame(name string, b []byte) (*ExecResult, error) {
	f, ok := abi.ParseFrame(b)
	if !ok {
		if len(b) < abi.FrameHeader {
			return nil, &execError{msg: "exec " + name + ": host sent a truncated result frame"}
		}
		return nil, &execError{msg: "exec " + name + ": host sent an inconsistent result frame"}
	}
	switch {
	case f.Flags&abi.FlagDenied != 0:
		return nil, &execError{msg: f.Error, denied: true}
	case f.Flags&abi.FlagStartFailed != 0:
		msg := f.Error
		if msg == "" {
			msg = "exec " + name + ": could not start"
		}
		return nil, &execError{msg: msg}
	}
	return &ExecResult{
		Command:         name,
		ExitCode:        int(f.ExitCode),
		Stdout:          f.Stdout,
		Stderr:          f.Stderr,
		TimedOut:        f.Flags&abi.FlagTimedOut != 0,
		StdoutTruncated: f.Flags&abi.FlagStdoutTruncated != 0,
		StderrTruncated: f.Flags&abi.FlagStderrTruncated != 0,
	}, nil
}

// execError is an Exec failure; denied ones match ErrDenied with errors.Is.
type execError struct {
	msg    string
	denied bool
}

func (e *execError) Error() string { return e.msg }
func (e *execError) Unwrap() error {
	if e.denied {
		return ErrDenied
	}
	return nil
}

// encodeInfo writes {"name":..,"strategies":[..],"commands":{..},"sdk":..,"abi":..}
// for fgr_info: name is the first strategy registered, strategies all of
// them, commands what each declared with Needs.
func encodeInfo() []byte {
	name, _ := Registered()
	w := jsonlite.NewWriter(nil)
	w.ObjectStart()
	w.Key("name")
	w.String(name)
	w.Key("strategies")
	w.ArrayStart()
	for _, s := range Strategies() {
		w.String(s)
	}
	w.ArrayEnd()
	w.Key("commands")
	w.ObjectStart()
	for _, r := range registry {
		w.Key(r.name)
		w.ArrayStart()
		for _, need := range r.needs {
			w.ArrayStart()
			for _, c := range need {
				w.String(c)
			}
			w.ArrayEnd()
		}
		w.ArrayEnd()
	}
	w.ObjectEnd()
	if rs := Reporters(); len(rs) > 0 {
		w.Key("reporters")
		w.ArrayStart()
		for _, r := range rs {
			w.String(r)
		}
		w.ArrayEnd()
	}
	w.Key("sdk")
	w.String(SDKVersion)
	w.Key("abi")
	w.Int(ABIVersion)
	w.ObjectEnd()
	return w.Bytes()
}
