package host

// A head start for the chain's first command.
//
// The first strategy's module takes tens of milliseconds to load from the
// compile cache (wazero validates it whole), and then the strategy's first
// act is to run a command: kubectl-nnf's `kubectl get clientmounts ...` costs
// about as much again. Nothing in between needs the guest, so the host
// remembers that command (its name and arguments, with the target node as a
// placeholder) from the previous fence in cache_dir, starts it for the new
// target while the module loads, and hands its result to the strategy if,
// and only if, the strategy then asks for exactly that command. Anything
// else (a changed configuration, another first command) and the early
// process is killed and the strategy's own request runs as usual: a plan can
// save time, never change an answer. Only built-in strategies loaded from
// the built-in module get a head start: their commands are read-only
// queries, which a site strategy's need not be.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/execcap"
)

// nodePlaceholder stands for the target node in a remembered command line.
const nodePlaceholder = "{node}"

// maxPlanBytes bounds a plan file; a real one is a few hundred bytes.
const maxPlanBytes = 64 << 10

// plan is a strategy's first command as remembered between fences: the
// logical name, the program and fixed arguments it was granted as (so a plan
// from another configuration, or one planted, is recognised as such), and
// the arguments the guest added.
type plan struct {
	Command   string   `json:"command"`
	Path      string   `json:"path"`
	FixedArgs []string `json:"fixed_args"`
	Args      []string `json:"args"`
}

// planOf remembers a call run as cmd, with every argument equal to node
// replaced by the placeholder.
func planOf(c discovery.HostCall, cmd execcap.Command, node string) plan {
	p := plan{Command: c.Command, Path: cmd.Path, FixedArgs: cmd.Args, Args: make([]string, len(c.Args))}
	for i, a := range c.Args {
		if a == node {
			a = nodePlaceholder
		}
		p.Args[i] = a
	}
	return p
}

// argsFor fills the placeholder in with node.
func (p plan) argsFor(node string) []string {
	args := make([]string, len(p.Args))
	for i, a := range p.Args {
		if a == nodePlaceholder {
			a = node
		}
		args[i] = a
	}
	return args
}

func (p plan) equal(q plan) bool {
	return p.Command == q.Command && p.Path == q.Path && slices.Equal(p.FixedArgs, q.FixedArgs) && slices.Equal(p.Args, q.Args)
}

// grantedAs checks that the plan would run exactly what the strategy is
// granted now: its program, with the granted fixed arguments first. A plan
// that does not is never run.
func (p plan) grantedAs(cmd execcap.Command) error {
	if p.Path != cmd.Path {
		return fmt.Errorf("it runs %q, but %s is granted as %q", p.Path, p.Command, cmd.Path)
	}
	if !slices.Equal(p.FixedArgs, cmd.Args) {
		return fmt.Errorf("its fixed arguments %q are not the granted %q", p.FixedArgs, cmd.Args)
	}
	for _, a := range p.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return errors.New("an argument contains a NUL byte")
		}
	}
	return nil
}

// planFile is where strategy name's plan lives. The cache directory is the
// agent's own (0700, checked like the compiled code it holds).
func planFile(cacheDir, name string) string {
	return filepath.Join(cacheDir, "headstart", name+".json")
}

// readPlan reads strategy name's plan, checked as the compiled code beside
// it is (the directory private, the file regular and root's): a plan names a
// command root runs. No plan is (plan{}, false, nil); an unsafe or unreadable
// one is an error to log.
func readPlan(cacheDir, name string) (plan, bool, error) {
	file := planFile(cacheDir, name)
	if err := checkPrivateDir(filepath.Dir(file)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return plan{}, false, nil
		}
		return plan{}, false, err
	}
	f, _, err := openRegular(file)
	if errors.Is(err, fs.ErrNotExist) {
		return plan{}, false, nil
	}
	if err != nil {
		return plan{}, false, err
	}
	defer f.Close()
	var p plan
	dec := json.NewDecoder(io.LimitReader(f, maxPlanBytes))
	if err := dec.Decode(&p); err != nil || p.Command == "" {
		return plan{}, false, fmt.Errorf("%s is not a plan", file)
	}
	return p, true, nil
}

// writePlan replaces strategy name's plan atomically.
func writePlan(cacheDir, name string, p plan) error {
	dir := filepath.Dir(planFile(cacheDir, name))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := checkPrivateDir(dir); err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, name+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), planFile(cacheDir, name))
}

// headStart is a command started before its strategy asked for it.
type headStart struct {
	strategy string
	command  string
	args     []string
	cancel   context.CancelFunc
	done     chan struct{}
	res      execcap.Result // valid once done is closed
}

// matches says whether a request is exactly the command that was started.
func (h *headStart) matches(name string, args []string) bool {
	return h.command == name && slices.Equal(h.args, args)
}

// wait returns the command's result, or false if ctx ended first (the
// command is then killed).
func (h *headStart) wait(ctx context.Context) (execcap.Result, bool) {
	select {
	case <-h.done:
		return h.res, true
	case <-ctx.Done():
		h.cancel()
		return execcap.Result{}, false
	}
}

// headStartEligible says whether loc's strategy may get a head start and
// learn plans: a built-in strategy served by the built-in module, with a
// compile cache to remember plans in.
func (s *Source) headStartEligible(loc Location) bool {
	return s.HeadStart && s.eng.cacheDir != "" && loc.Kind == KindBuiltin && config.IsBuiltin(loc.Name)
}

// Prepare implements discovery.Preparer: it starts the first strategy's
// remembered first command for t while the chain loads its module. The
// command ends with ctx (the chain) if nobody claims it.
func (s *Source) Prepare(ctx context.Context, order []string, t discovery.Target) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed || len(order) == 0 {
		return
	}
	loc, err := Resolve(s.cfg, order[0])
	if err != nil || !s.headStartEligible(loc) {
		return
	}
	p, ok, err := readPlan(s.eng.cacheDir, loc.Name)
	if err != nil {
		s.logger.Warn("head start: ignoring an unsafe plan", "strategy", loc.Name, "reason", err.Error())
		return
	}
	if !ok {
		return
	}
	cmd, err := execcap.NewGrants(s.cfg, loc.Name).Lookup(p.Command)
	if err != nil {
		return // no longer granted: the strategy will hear so itself
	}
	if err := p.grantedAs(cmd); err != nil {
		s.logger.Warn("head start: ignoring a plan the strategy is not granted", "strategy", loc.Name, "reason", err.Error())
		return
	}
	args := p.argsFor(t.Node)
	hctx, cancel := context.WithCancel(ctx)
	h := &headStart{strategy: loc.Name, command: p.Command, args: args, cancel: cancel, done: make(chan struct{})}
	go func() {
		h.res = execcap.Run(hctx, cmd, args)
		close(h.done)
	}()
	s.logger.Debug("head start: running the first strategy's remembered first command while its module loads",
		"strategy", loc.Name, "command", p.Command, "args", args)
	s.mu.Lock()
	if s.unclaimed != nil {
		s.unclaimed.cancel()
	}
	s.unclaimed = h
	s.mu.Unlock()
}

// takeHeadStart hands strategy name the command started for it, once.
func (s *Source) takeHeadStart(name string) *headStart {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.unclaimed
	if h == nil || h.strategy != name {
		return nil
	}
	s.unclaimed = nil
	return h
}

// learn remembers the first command of a strategy's call for the next
// fence's head start, when it differs from what is remembered.
func (s *strategy) learn(calls []discovery.HostCall, node string) {
	if s.planDir == "" || len(calls) == 0 || calls[0].Denied || calls[0].Command == "" {
		return
	}
	cmd, err := s.grants.Lookup(calls[0].Command)
	if err != nil {
		return
	}
	p := planOf(calls[0], cmd, node)
	if old, ok, _ := readPlan(s.planDir, s.name); ok && old.equal(p) {
		return
	}
	if err := writePlan(s.planDir, s.name, p); err != nil {
		s.logger.Debug("head start: could not remember the first command", "strategy", s.name, "error", err)
	}
}
