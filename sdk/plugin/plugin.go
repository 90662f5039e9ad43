// Package plugin is the Go SDK for fence_gfs2_recorder discovery strategies.
//
// A strategy is a WebAssembly reactor built by the standard Go toolchain:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o my.wasm .
//
// It registers one discover function from init (a reactor never runs main):
//
//	func init() { plugin.Register("site-inventory", discover) }
//	func main() {}
//
//	func discover(ctx plugin.Context, req plugin.Request) (plugin.Result, error) {
//		res, err := ctx.Exec("inventory", "--node", req.Node)
//		if err != nil {
//			return plugin.Result{}, err
//		}
//		...
//	}
//
// The SDK hides the ABI (docs/ABI.md): memory, encoding and host calls. It
// deliberately imports neither fmt nor encoding/json: every megabyte of guest
// costs about 10 ms on each fence, and those two packages would add 2.3 MB.
// Plugin logic is plain Go; test it natively with package plugintest.
//
// Runnable examples (ExampleRegister, ExampleExecResult_Err, ...) are in
// example_test.go: `go doc` in a terminal does not print examples, `go doc
// -http` shows them, and `go test -run Example -v` in the SDK runs them. A
// complete strategy to copy is examples/plugin-template in the agent's
// repository.
package plugin

import (
	"errors"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/intfmt"
)

// Request is what the host asks a strategy for one fence event.
type Request struct {
	// Strategy is the name the configuration runs this strategy under
	// (discovery.order, strategies.<name>). A module serving several
	// strategies is called with each of their names.
	Strategy string
	// Node is the target node as Pacemaker named it. The host has already
	// checked that it is a plausible node name (see docs/ABI.md), so it is
	// safe to pass as a command argument.
	Node string
	// Action is the fence action: "on", "off", "reboot", or "run" when an
	// administrator runs the strategy by hand with `plugins run`.
	Action string
	// Config is the strategy's own section of the agent configuration
	// (strategies.<name>.config), decoded from JSON: values are string,
	// bool, float64, []any, map[string]any or nil.
	Config map[string]any
}

// ConfigString returns Config[key] when it is a non-empty string, else def.
func (r Request) ConfigString(key, def string) string {
	if s, ok := r.Config[key].(string); ok && s != "" {
		return s
	}
	return def
}

// ConfigBool returns Config[key] when it is a bool, else def.
func (r Request) ConfigBool(key string, def bool) bool {
	if b, ok := r.Config[key].(bool); ok {
		return b
	}
	return def
}

// ConfigStrings returns Config[key] when it is a list of strings, else def.
func (r Request) ConfigStrings(key string, def []string) []string {
	list, ok := r.Config[key].([]any)
	if !ok {
		return def
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return def
		}
		out = append(out, s)
	}
	return out
}

// Result is a strategy's answer.
type Result struct {
	// Filesystems names the GFS2 filesystems the node was using, in the
	// strategy's own identifier scheme (kubectl-nnf: NnfStorage
	// "namespace/name"; pcs strategies: Filesystem resource ids). Empty
	// means "this strategy sees none" and the chain moves on.
	Filesystems []string
	// Details is optional supporting evidence written into the attempt
	// record: values may be string, bool, int, int64, float64, []string,
	// []any, map[string]any, []map[string]any or nil.
	Details map[string]any
}

// Context gives a strategy its only ways to reach the outside world.
type Context interface {
	// Exec runs a command the strategy was granted by its logical name
	// (strategies.<name>.allow in the config), with args appended to the
	// command's fixed leading args. It runs argv directly, never a shell.
	// A non-zero exit is not an error here: inspect ExecResult (or call
	// its Err method). The error is non-nil when the command could not be
	// run at all: denied (errors.Is(err, ErrDenied)), not found, or failed
	// to start.
	Exec(name string, args ...string) (*ExecResult, error)
	// Logger logs through the host's operational log at a level.
	Logger() *Logger
}

// ExecResult is what a command did.
type ExecResult struct {
	Command         string // the logical command name Exec was given
	ExitCode        int    // -1 if it was killed
	Stdout          []byte // what it printed, up to the command's output cap
	Stderr          []byte // its error output, up to the same cap
	TimedOut        bool   // killed at its deadline (with its whole process group)
	StdoutTruncated bool   // stdout beyond the cap was dropped
	StderrTruncated bool   // stderr beyond the cap was dropped
}

// Err returns nil when the command exited 0 within its deadline, else an
// error that says how it failed, naming the command and, for a timeout, the
// configuration key of the limit; it quotes the start of stderr. Output cut
// at commands.<name>.output_cap is not an error: StdoutTruncated says so.
func (r *ExecResult) Err() error {
	cmd := "command"
	if r.Command != "" {
		cmd += " " + r.Command
	}
	switch {
	case r.TimedOut:
		if r.Command == "" {
			return errors.New(cmd + " timed out")
		}
		return errors.New(cmd + " timed out (limit commands." + r.Command + ".timeout, or the strategy's timeout when less of it remained)")
	case r.ExitCode != 0:
		msg := cmd + " exited with status " + intfmt.Itoa(r.ExitCode)
		if s := firstLine(r.Stderr, 300); s != "" {
			msg += ": " + s
		}
		return errors.New(msg)
	}
	return nil
}

// ErrDenied is wrapped by the error Exec returns for a command the strategy
// is not allowed to run.
var ErrDenied = errors.New("command not allowed for this strategy")

// DiscoverFunc is a strategy's entry point. It must be synchronous: goroutines
// it starts do not run between calls.
type DiscoverFunc func(ctx Context, req Request) (Result, error)

type registration struct {
	name  string
	fn    DiscoverFunc
	needs [][]string // each: logical command names, one of which must be granted
}

// Option adds to what Register declares about a strategy.
type Option func(*registration)

// Needs declares a command the strategy runs on every fence: the host's
// `plugins verify`, `plugins list` and the monitor action then fail while
// strategies.<name>.allow does not grant it or commands.<name> does not
// define it, instead of the first fence finding out. Give several names when
// any one of them will do (a fallback: Needs("crm_mon", "pcs")); call it once
// per command needed. The names are logical command names, as for Exec.
func Needs(oneOf ...string) Option {
	return func(r *registration) {
		if len(oneOf) > 0 {
			r.needs = append(r.needs, append([]string(nil), oneOf...))
		}
	}
}

// registry holds what Register installed, in order. A module may serve
// several strategies: every module costs each fence a load (about 10 ms per
// MB of wasm, and a Go guest is at least 1.8 MB), so the agent's three
// built-in strategies are one module and a chain that reaches all three
// pays one load, not three.
var registry []registration

// Register installs fn as the strategy name. Call it from init, once per
// name; a module may register several strategies, and the host then calls
// the one named by the configuration (Request.Strategy). A module that
// registers exactly one strategy answers under whatever name the
// configuration loads it as (strategies.<name>.file).
//
// Options declare what the strategy needs from the host (Needs); they are
// reported in fgr_info and checked before any fence runs.
func Register(name string, fn DiscoverFunc, opts ...Option) {
	if fn == nil {
		panic("plugin: Register(" + name + ") with a nil function")
	}
	for _, r := range registry {
		if r.name == name {
			panic("plugin: strategy " + name + " registered twice")
		}
	}
	r := registration{name: name, fn: fn}
	for _, o := range opts {
		o(&r)
	}
	registry = append(registry, r)
}

// Registered returns the first strategy Register installed (nil if none):
// the only one, in a single-strategy module. Tests may use it to reach a
// plugin's registered function.
func Registered() (string, DiscoverFunc) {
	if len(registry) == 0 {
		return "", nil
	}
	return registry[0].name, registry[0].fn
}

// Strategies lists the registered strategy names in registration order
// (what fgr_info reports).
func Strategies() []string {
	names := make([]string, len(registry))
	for i, r := range registry {
		names[i] = r.name
	}
	return names
}

// lookup returns the function that serves the strategy called name.
func lookup(name string) (DiscoverFunc, error) {
	switch len(registry) {
	case 0:
		return nil, errors.New("plugin: no strategy registered (call plugin.Register from init)")
	case 1:
		return registry[0].fn, nil
	}
	for _, r := range registry {
		if r.name == name {
			return r.fn, nil
		}
	}
	return nil, notServed("", Strategies(), name)
}

// notServed is the error of a module that serves several names, none of
// them name; kind is "" for strategies or "reporters ".
func notServed(kind string, names []string, name string) error {
	msg := "plugin: this module serves " + kind
	for i, n := range names {
		if i > 0 {
			msg += ", "
		}
		msg += n
	}
	return errors.New(msg + "; not " + quote(name))
}

func quote(s string) string { return "\"" + s + "\"" }

func firstLine(b []byte, max int) string {
	for i, c := range b {
		if c == '\n' {
			b = b[:i]
			break
		}
	}
	if len(b) > max {
		b = b[:max]
	}
	return string(b)
}
