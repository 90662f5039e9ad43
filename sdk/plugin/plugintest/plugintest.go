// Package plugintest runs a strategy's discover function natively, with
// scripted command results in place of the host, so plugin logic is tested
// with plain `go test` and no WebAssembly toolchain.
//
//	ctx := plugintest.NewContext(t).
//		Allow("kubectl").
//		Script("kubectl", plugintest.Output(fixture), "get", "clientmounts", "-n", "compute-node-3", "-o", "json")
//	res, err := discover(ctx, plugin.Request{Node: "compute-node-3", Action: "reboot"})
package plugintest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// Response is a scripted command result.
type Response struct {
	Result plugin.ExecResult // what Exec returns when Err is nil
	Err    error             // returned by Exec instead of a result (e.g. command not found)
}

// Output is a successful run that printed stdout.
func Output(stdout []byte) Response { return Response{Result: plugin.ExecResult{Stdout: stdout}} }

// Fail is a run that exited with code and printed stderr.
func Fail(code int, stderr string) Response {
	return Response{Result: plugin.ExecResult{ExitCode: code, Stderr: []byte(stderr)}}
}

// Timeout is a run the host killed at its deadline.
func Timeout() Response { return Response{Result: plugin.ExecResult{ExitCode: -1, TimedOut: true}} }

// Call is one Exec the strategy made.
type Call struct {
	Name string   // logical command name, as passed to Exec
	Args []string // arguments, as passed to Exec
}

// LogLine is one line the strategy logged.
type LogLine struct {
	Level plugin.Level // level the strategy logged at
	Msg   string       // message with its key=value attributes appended
}

// Context is a fake plugin.Context. Commands are denied unless allowed, like
// the real host; an allowed command with no matching script fails the test.
type Context struct {
	t       testing.TB
	mu      sync.Mutex
	allowed map[string]bool
	scripts []script
	calls   []Call
	logs    []LogLine
	logger  *plugin.Logger
}

type script struct {
	name string
	args []string // nil matches any arguments
	resp Response
}

// NewContext returns a fake context that reports unexpected calls to t.
func NewContext(t testing.TB) *Context {
	c := &Context{t: t, allowed: map[string]bool{}}
	c.logger = plugin.NewLogger(func(l plugin.Level, msg string) {
		c.mu.Lock()
		c.logs = append(c.logs, LogLine{l, msg})
		c.mu.Unlock()
	})
	return c
}

// Allow grants the strategy the named commands.
func (c *Context) Allow(names ...string) *Context {
	for _, n := range names {
		c.allowed[n] = true
	}
	return c
}

// Script makes Exec(name, args...) return resp. With no args the script
// matches any arguments. Later scripts win over earlier ones.
func (c *Context) Script(name string, resp Response, args ...string) *Context {
	c.scripts = append(c.scripts, script{name: name, args: args, resp: resp})
	return c
}

// Exec implements plugin.Context.
func (c *Context) Exec(name string, args ...string) (*plugin.ExecResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, Call{Name: name, Args: append([]string(nil), args...)})
	if !c.allowed[name] {
		return nil, fmt.Errorf("exec %q: %w", name, plugin.ErrDenied)
	}
	for i := len(c.scripts) - 1; i >= 0; i-- {
		s := c.scripts[i]
		if s.name == name && (s.args == nil || equal(s.args, args)) {
			if s.resp.Err != nil {
				return nil, s.resp.Err
			}
			r := s.resp.Result
			if r.Command == "" {
				r.Command = name // as the real host's result carries it
			}
			return &r, nil
		}
	}
	c.t.Errorf("plugintest: unscripted command %s %s", name, strings.Join(args, " "))
	return nil, fmt.Errorf("plugintest: unscripted command %q", name)
}

// Logger implements plugin.Context.
func (c *Context) Logger() *plugin.Logger { return c.logger }

// Calls returns the commands the strategy ran, in order.
func (c *Context) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Call(nil), c.calls...)
}

// Logs returns what the strategy logged, in order.
func (c *Context) Logs() []LogLine {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]LogLine(nil), c.logs...)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
