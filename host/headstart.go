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
	"io"
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

// plan is a strategy's first command as remembered between fences.
type plan struct {
	Command string   `json:"command"`
	Args    []string `json:"args"`
}

// planOf remembers a call, with every argument equal to node replaced by
// the placeholder.
func planOf(c discovery.HostCall, node string) plan {
	p := plan{Command: c.Command, Args: make([]string, len(c.Args))}
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

func (p plan) equal(q plan) bool { return p.Command == q.Command && slices.Equal(p.Args, q.Args) }

// planFile is where strategy name's plan lives. The cache directory is the
// agent's own (0700, checked like the compiled code it holds).
func planFile(cacheDir, name string) string {
	return filepath.Join(cacheDir, "headstart", name+".json")
}

func readPlan(cacheDir, name string) (plan, bool) {
	f, err := os.Open(planFile(cacheDir, name))
	if err != nil {
		return plan{}, false
	}
	defer f.Close()
	var p plan
	dec := json.NewDecoder(io.LimitReader(f, maxPlanBytes))
	if err := dec.Decode(&p); err != nil || p.Command == "" {
		return plan{}, false
	}
	return p, true
}

// writePlan replaces strategy name's plan atomically.
func writePlan(cacheDir, name string, p plan) error {
	dir := filepath.Dir(planFile(cacheDir, name))
	if err := os.MkdirAll(dir, 0o700); err != nil {
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
	p, ok := readPlan(s.eng.cacheDir, loc.Name)
	if !ok {
		return
	}
	cmd, err := execcap.NewGrants(s.cfg, loc.Name).Lookup(p.Command)
	if err != nil {
		return // no longer granted: the strategy will hear so itself
	}
	args := p.argsFor(t.Node)
	for _, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			return
		}
	}
	hctx, cancel := context.WithCancel(ctx)
	h := &headStart{strategy: loc.Name, command: p.Command, args: args, cancel: cancel, done: make(chan struct{})}
	go func() {
		h.res = execcap.Run(hctx, cmd, args)
		close(h.done)
	}()
	s.logger.Debug("head start: running the first strategy's remembered first command while its module loads",
		"strategy", loc.Name, "command", p.Command, "args", args)
	s.mu.Lock()
	if s.head != nil {
		s.head.cancel()
	}
	s.head = h
	s.mu.Unlock()
}

// takeHeadStart hands strategy name the command started for it, once.
func (s *Source) takeHeadStart(name string) *headStart {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.head
	if h == nil || h.strategy != name {
		return nil
	}
	s.head = nil
	return h
}

// learn remembers the first command of a strategy's call for the next
// fence's head start, when it differs from what is remembered.
func (s *strategy) learn(calls []discovery.HostCall, node string) {
	if s.planDir == "" || len(calls) == 0 || calls[0].Denied || calls[0].Command == "" {
		return
	}
	p := planOf(calls[0], node)
	if old, ok := readPlan(s.planDir, s.name); ok && old.equal(p) {
		return
	}
	if err := writePlan(s.planDir, s.name, p); err != nil {
		s.logger.Debug("head start: could not remember the first command", "strategy", s.name, "error", err)
	}
}
