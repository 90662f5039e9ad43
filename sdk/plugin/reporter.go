package plugin

import (
	"errors"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite"
)

// A reporter is the second kind of plugin: after a record is durable, the
// host hands it to each configured reporter (reporting.order) from a
// detached process, so a reporter can never delay a fence. A module may
// register strategies, reporters or both; the agent's built-in module
// serves the k8s-event reporter beside its strategies.
//
//	func init() { plugin.RegisterReporter("webhook", report) }
//
//	func report(ctx plugin.Context, rep plugin.Report) error {
//		_, err := plugin.ExecInput(ctx, rep.Record, "curl", "--data-binary", "@-", url)
//		return err
//	}
//
// Delivery is at least once: a reporter that returns an error gets the same
// record again on a later run (after a backoff), so a reporter must be
// idempotent, typically by keying what it creates on the record's event_id.

// Report is one durable record for one reporter.
type Report struct {
	// Reporter is the name the configuration runs this reporter under.
	Reporter string
	// Record is the record exactly as written to fence-events-detailed.jsonl:
	// one JSON object (parse it with sdk/jsonlite).
	Record []byte
	// Config is reporting.reporters.<name>.config, decoded like
	// Request.Config.
	Config map[string]any
}

// ConfigString returns Config[key] when it is a non-empty string, else def.
func (r Report) ConfigString(key, def string) string {
	return Request{Config: r.Config}.ConfigString(key, def)
}

// ReportFunc delivers one record. nil means delivered: the host drops the
// record from the reporter's spool. Any error keeps it there for a retry.
type ReportFunc func(ctx Context, rep Report) error

type reporterRegistration struct {
	name string
	fn   ReportFunc
}

var reporters []reporterRegistration

// RegisterReporter installs fn as the reporter name. Call it from init.
func RegisterReporter(name string, fn ReportFunc) {
	if fn == nil {
		panic("plugin: RegisterReporter(" + name + ") with a nil function")
	}
	for _, r := range reporters {
		if r.name == name {
			panic("plugin: reporter " + name + " registered twice")
		}
	}
	reporters = append(reporters, reporterRegistration{name, fn})
}

// Reporters lists the registered reporter names (what fgr_info reports).
func Reporters() []string {
	names := make([]string, len(reporters))
	for i, r := range reporters {
		names[i] = r.name
	}
	return names
}

// RegisteredReporter returns the function registered as name (nil if
// none); tests use it to reach a plugin's reporter.
func RegisteredReporter(name string) ReportFunc {
	for _, r := range reporters {
		if r.name == name {
			return r.fn
		}
	}
	return nil
}

// lookupReporter mirrors lookup: a module with one reporter serves it under
// any configured name.
func lookupReporter(name string) (ReportFunc, error) {
	switch len(reporters) {
	case 0:
		return nil, errors.New("plugin: no reporter registered (call plugin.RegisterReporter from init)")
	case 1:
		return reporters[0].fn, nil
	}
	if fn := RegisteredReporter(name); fn != nil {
		return fn, nil
	}
	return nil, notServed("reporters ", Reporters(), name)
}

// InputExecer is a Context that can give a command standard input. The
// host's Context is one; plugintest's Context is one too.
type InputExecer interface {
	ExecInput(stdin []byte, name string, args ...string) (*ExecResult, error)
}

// ExecInput runs a granted command like ctx.Exec, with stdin as its
// standard input (a body for `kubectl create -f -`). A Context that cannot
// pass input is an error, never a silent run without it.
func ExecInput(ctx Context, stdin []byte, name string, args ...string) (*ExecResult, error) {
	if ie, ok := ctx.(InputExecer); ok {
		return ie.ExecInput(stdin, name, args...)
	}
	return nil, errors.New("exec " + name + ": this Context cannot pass standard input")
}

// ExecInput is fgr.exec with the request's optional "stdin" member.
func (c hostContext) ExecInput(stdin []byte, name string, args ...string) (*ExecResult, error) {
	return c.exec(name, encodeExecInput(name, args, stdin))
}

// encodeExecInput writes {"name":..,"args":[..],"stdin":".."} for fgr.exec.
func encodeExecInput(name string, args []string, stdin []byte) []byte {
	return encodeExec(name, args, stdin, true)
}

// serveReport decodes {"abi":1,"reporter":..,"record":{..},"config":{..}},
// runs the reporter and answers {"error":".."} ("" = delivered).
func serveReport(raw []byte, ctx Context) []byte {
	rep, err := decodeReport(raw)
	if err == nil {
		var fn ReportFunc
		if fn, err = lookupReporter(rep.Reporter); err == nil {
			err = fn(ctx, rep)
		}
	}
	w := jsonlite.NewWriter(make([]byte, 0, 64))
	w.ObjectStart()
	w.Key("error")
	if err != nil {
		msg := err.Error()
		if msg == "" {
			msg = "reporter failed without a message"
		}
		w.String(msg)
	} else {
		w.String("")
	}
	w.ObjectEnd()
	return w.Bytes()
}

func decodeReport(raw []byte) (Report, error) {
	var rep Report
	err := decodeHostCall(raw, "report request", func(r *jsonlite.Reader, key string) error {
		var err error
		switch key {
		case "reporter":
			rep.Reporter, err = r.String()
		case "record":
			var b []byte
			if b, err = r.Raw(); err == nil {
				rep.Record = append([]byte(nil), b...)
			}
		case "config":
			rep.Config, err = readConfig(r, "report")
		}
		return err
	})
	if err != nil {
		return Report{}, err
	}
	if len(rep.Record) == 0 {
		return Report{}, errors.New("plugin: report request without a record")
	}
	if rep.Config == nil {
		rep.Config = map[string]any{}
	}
	return rep, nil
}
