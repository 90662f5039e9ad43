// Package execcap runs the commands a discovery strategy was granted, and
// nothing else. It is the whole of a sandboxed strategy's reach outside its
// WebAssembly memory, so it is deny-by-default and defensive:
//
//   - only logical names in the strategy's allow-list run, each resolved to an
//     absolute path and fixed leading arguments from the configuration;
//   - argv is executed directly, never through a shell;
//   - the command gets a minimal environment (PATH, LANG=C, and only the
//     variables the configuration names);
//   - it runs in its own process group, and the whole group is killed at the
//     deadline (kubectl and pcs start children that would otherwise outlive it);
//     descendants that left the group are reparented to the agent, a child
//     subreaper, and killed too (reap.go);
//   - stdout and stderr are capped; bytes beyond the cap are drained and
//     dropped so a chatty child never blocks on a full pipe.
package execcap

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
)

// BasePath is the PATH every command gets: commands run by absolute path, but
// their own children (pcs runs crm_mon, kubectl runs credential plugins)
// look programs up.
const BasePath = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

// waitDelay bounds how long Wait keeps reading pipes after the command
// exited or was killed: a grandchild that left the process group may hold them.
const waitDelay = 200 * time.Millisecond

// ErrDenied marks a command the strategy is not allowed to run.
var ErrDenied = errors.New("command not allowed for this strategy")

// Command is one resolved grant: what a logical name runs.
type Command struct {
	Name      string // logical name, e.g. "kubectl"
	Path      string // absolute path
	Args      []string
	Env       []string // names of agent variables passed through when set
	SetEnv    map[string]string
	Timeout   time.Duration // 0 = only the caller's deadline
	OutputCap int64         // bytes kept of stdout and of stderr each
}

// Grants are the commands one strategy may run, by logical name.
type Grants struct {
	allowKey string // the configuration key of the allow-list
	allowed  map[string]Command
	problems map[string]string // allowed names that cannot run, and why
}

// NewGrants resolves strategy's allow-list against the configured commands.
// A name that is allowed but not configured, or configured with a relative
// path, stays denied with a reason; it is not an error for the whole
// strategy, which may never need that command.
func NewGrants(cfg *config.Config, strategy string) Grants {
	// A strategy missing from the configuration allows nothing.
	return NewGrantsFor(cfg, "strategies."+strategy+".allow", cfg.Strategies[strategy].Allow)
}

// NewGrantsFor resolves any sandbox's allow-list (a reporter's:
// reporting.reporters.<name>.allow) against the configured commands; key
// names the list in denial messages.
func NewGrantsFor(cfg *config.Config, key string, allow []string) Grants {
	g := Grants{allowKey: key, allowed: map[string]Command{}, problems: map[string]string{}}
	for _, name := range allow {
		c, err := FromConfig(cfg, name)
		if err != nil {
			if _, configured := cfg.Commands[name]; !configured {
				g.problems[name] = "allowed by " + key + " but commands." + name + " is not configured"
			} else {
				g.problems[name] = err.Error()
			}
			continue
		}
		g.allowed[name] = c
	}
	return g
}

// FromConfig is the one place a configured command (commands.<name>) becomes
// a Command: the strategies' grants and the pairing check's cibadmin run
// with the same defaults. Timeout 0 stays 0 (the caller's deadline alone).
func FromConfig(cfg *config.Config, name string) (Command, error) {
	c, ok := cfg.Commands[name]
	switch {
	case !ok || c.Path == "":
		return Command{}, errors.New("commands." + name + " is not configured")
	case !filepath.IsAbs(c.Path):
		return Command{}, errors.New("commands." + name + ".path must be an absolute path, got " + quote(c.Path))
	}
	capBytes := c.OutputCap
	if capBytes <= 0 {
		capBytes = config.DefaultOutputCap
	}
	return Command{Name: name, Path: c.Path, Args: c.Args, Env: c.Env,
		SetEnv: c.SetEnv, Timeout: c.Timeout, OutputCap: capBytes}, nil
}

// Lookup returns the grant for name, or an error wrapping ErrDenied that says
// why the strategy may not run it.
func (g Grants) Lookup(name string) (Command, error) {
	if c, ok := g.allowed[name]; ok {
		return c, nil
	}
	if why, ok := g.problems[name]; ok {
		return Command{}, &DeniedError{Name: name, Reason: why}
	}
	return Command{}, &DeniedError{Name: name,
		Reason: quote(name) + " is not in " + g.allowKey}
}

// Names lists the commands that can run, sorted.
func (g Grants) Names() []string {
	out := make([]string, 0, len(g.allowed))
	for n := range g.allowed {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// DeniedError says which command was refused and why.
type DeniedError struct{ Name, Reason string }

func (e *DeniedError) Error() string { return "exec " + quote(e.Name) + " denied: " + e.Reason }
func (e *DeniedError) Unwrap() error { return ErrDenied }

// Result is what one run did.
type Result struct {
	ExitCode        int // -1 when killed or never started
	Stdout, Stderr  []byte
	TimedOut        bool // killed (with its process group) at the deadline
	StartFailed     bool // never ran; Err says why
	StdoutTruncated bool
	StderrTruncated bool
	Err             error // start failure; nil when the command ran
	Duration        time.Duration
}

// Run executes c with args appended to its fixed arguments. The deadline is
// the earlier of c.Timeout and ctx's. It never returns an error: everything
// that happened is in Result, because a strategy should see a failed command
// as data.
func Run(ctx context.Context, c Command, args []string) Result {
	return RunInput(ctx, c, args, nil)
}

// RunInput is Run with stdin: the command reads stdin (a body for `kubectl
// create -f -`), then end of file. nil stdin is /dev/null, as for Run.
func RunInput(ctx context.Context, c Command, args []string, stdin []byte) Result {
	start := time.Now()
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return Result{ExitCode: -1, TimedOut: true, Duration: time.Since(start)}
	}
	stdout := &cappedBuffer{limit: c.OutputCap}
	stderr := &cappedBuffer{limit: c.OutputCap}
	cmd := &exec.Cmd{
		Path:   c.Path,
		Args:   append(append([]string{c.Path}, c.Args...), args...),
		Env:    Environ(c, os.LookupEnv),
		Dir:    "/",
		Stdout: stdout,
		Stderr: stderr,
		Stdin:  stdinReader(stdin),
		// Own process group so the deadline kill reaches its children; and
		// if the agent itself is SIGKILLed (pacemaker-fenced does that to
		// its process group on timeout, which no longer includes this
		// one), the kernel kills the command too.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
		WaitDelay:   waitDelay,
	}
	becomeSubreaper()
	children.RLock()
	err := cmd.Start()
	if err == nil {
		regMu.Lock()
		leaders[cmd.Process.Pid] = true
		regMu.Unlock()
	}
	children.RUnlock()
	if err != nil {
		return Result{ExitCode: -1, StartFailed: true, Err: err, Duration: time.Since(start)}
	}
	pgid := cmd.Process.Pid // Setpgid with Pgid 0: the group id is the leader's pid
	done := make(chan struct{})
	killedAtDeadline := make(chan bool, 1)
	go func() {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			killedAtDeadline <- true
		case <-done:
			killedAtDeadline <- false
		}
	}()
	// Wait for the leader; the pipes close when every holder is gone or
	// after waitDelay.
	waitErr := cmd.Wait()
	close(done)
	timedOut := <-killedAtDeadline
	// Children left in the group after the leader exited would keep running
	// with the agent's privileges: the group lives and dies with its command.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	regMu.Lock()
	delete(leaders, pgid)
	regMu.Unlock()
	// And those that left the group (setsid): reparented to the agent
	// when their parent went, they are killed here.
	killOrphans()

	r := Result{
		ExitCode:        cmd.ProcessState.ExitCode(),
		Stdout:          stdout.buf.Bytes(),
		Stderr:          stderr.buf.Bytes(),
		StdoutTruncated: stdout.truncated,
		StderrTruncated: stderr.truncated,
		TimedOut:        timedOut,
		Duration:        time.Since(start),
	}
	if timedOut {
		r.ExitCode = -1
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) && !timedOut {
		r.Err = waitErr
	}
	return r
}

// Environ builds the command's whole environment: PATH, LANG=C, the
// passthrough variables that are set in the agent's environment, then SetEnv
// (which may override the first two).
func Environ(c Command, lookup func(string) (string, bool)) []string {
	vars := map[string]string{"PATH": strings.TrimPrefix(BasePath, "PATH="), "LANG": "C"}
	for _, name := range c.Env {
		if v, ok := lookup(name); ok {
			vars[name] = v
		}
	}
	for k, v := range c.SetEnv {
		vars[k] = v
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// cappedBuffer keeps the first limit bytes and reports success for the rest,
// so the copying goroutine keeps draining the pipe and the child never blocks.
type cappedBuffer struct {
	buf       bytes.Buffer
	limit     int64
	truncated bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.limit - int64(b.buf.Len())
	if room <= 0 {
		b.truncated = b.truncated || len(p) > 0
		return len(p), nil
	}
	if int64(len(p)) > room {
		b.buf.Write(p[:room])
		b.truncated = true
		return len(p), nil
	}
	return b.buf.Write(p)
}

// stdinReader is nil (the null device) for no input: exec.Cmd then opens
// /dev/null instead of starting a copying goroutine.
func stdinReader(b []byte) io.Reader {
	if b == nil {
		return nil
	}
	return bytes.NewReader(b)
}

func quote(s string) string { return `"` + s + `"` }
