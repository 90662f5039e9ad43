package discovery

// The chain as it runs: strategies in order, the next one started early
// (hedged) when those running are slow, the answer still taken in order.
//
// Preference order is the rule everything else serves: a strategy's answer
// is the chain's answer only once every strategy before it has finished
// empty or failed. A hedge only changes when a later strategy starts, never
// which answer wins; a Snapshot (the fence wait ran out) is the one place a
// later answer is taken while earlier ones still run, and it names them.

import (
	"context"
	"slices"
	"sync"
	"time"
)

// OutcomePending is a strategy that had not finished when a partial record
// was taken; the completion record has its real outcome.
const OutcomePending Outcome = "pending"

// StatePartial is Report.State of a record taken at the fence wait.
const StatePartial = "partial"

// stuckGrace is how long a finishing chain waits for strategies it has
// cancelled to return. The host stops a guest and kills its commands
// within milliseconds of a cancel; one that does not return by then (a
// file open that blocks, a compile) is recorded without waiting for it.
const stuckGrace = 250 * time.Millisecond

type slotState int

const (
	idle slotState = iota
	running
	finished
)

type slot struct {
	name    string
	state   slotState
	known   bool // finished by an earlier process
	hedge   bool // started while an earlier strategy was still running
	started time.Time
	// calling is when the strategy was loaded and called; zero while its
	// module loads. Only a call is hedged: a load that takes long is a
	// compile, and a hedge beside it would only compete for the CPU (a
	// strategy of the same module waits for the same load anyway).
	calling time.Time
	cancel  context.CancelFunc
	a       Attempt
}

// Chain is one run of the strategy chain for one target. Start it, then
// either wait for Report or take a Snapshot when waiting no longer pays;
// Stop ends whatever still runs.
type Chain struct {
	src   Source
	t     Target
	opts  Options
	begun time.Time

	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	slots     []slot
	hedges    int
	finishing bool // no more starts; waiting for cancelled strategies
	stopped   chan struct{}
	done      chan struct{}
	final     Report
}

// Start runs the chain in the background. ctx bounds it as a whole (with
// opts.Budget); cancelling ctx ends it like Stop.
func Start(ctx context.Context, src Source, order []string, t Target, opts Options) *Chain {
	c := &Chain{src: src, t: t, opts: opts, begun: time.Now(), slots: make([]slot, len(order)),
		stopped: make(chan struct{}), done: make(chan struct{})}
	// The chain's own context: cancelled when it ends, so what a Preparer
	// or a strategy started never outlives the chain.
	c.ctx, c.cancel = context.WithCancel(ctx)
	if opts.Budget > 0 {
		var cancelBudget context.CancelFunc
		c.ctx, cancelBudget = context.WithTimeout(c.ctx, opts.Budget)
		parent := c.cancel
		c.cancel = func() { cancelBudget(); parent() }
	}
	known := map[string]Attempt{}
	for _, a := range opts.Known {
		if a.Outcome != OutcomePending && a.Outcome != OutcomeSkipped && a.Outcome != "" {
			known[a.Strategy] = a
		}
	}
	var toRun []string
	for i, name := range order {
		c.slots[i].name = name
		switch a, ok := known[name]; {
		case !t.Discoverable():
			c.slots[i].state = finished
			c.slots[i].a = Attempt{Strategy: name, Outcome: OutcomeInvalidTarget,
				Error: "target node name is not a plausible node name; no command was run"}
		case ok:
			c.slots[i].state, c.slots[i].known, c.slots[i].a = finished, true, a
		default:
			toRun = append(toRun, name)
		}
	}
	if p, ok := src.(Preparer); ok && len(toRun) > 0 {
		p.Prepare(c.ctx, toRun, t)
	}
	go func() {
		<-c.ctx.Done()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.finishLocked(true)
	}()
	c.mu.Lock()
	c.stepLocked()
	c.mu.Unlock()
	return c
}

// Done is closed when the final report is ready.
func (c *Chain) Done() <-chan struct{} { return c.done }

// Report waits for the chain to end and returns its report.
func (c *Chain) Report() Report {
	<-c.done
	return c.final
}

// Stop cancels whatever still runs and waits (at most about stuckGrace)
// for it to return, so the commands of a stopped strategy are killed
// before the caller goes on.
func (c *Chain) Stop() {
	c.cancel()
	<-c.done
}

// Snapshot is the report as things stand: finished attempts as they are,
// the best answer among them in preference order, and the strategies ranked
// before it that have not finished listed as pending. It does not wait for
// anything.
func (c *Chain) Snapshot() Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isDone() {
		return c.final
	}
	rep := c.reportLocked()
	best := -1
	for i, s := range c.slots {
		if s.state == finished && answered(s.a) {
			best = i
			break
		}
	}
	rep.State = StatePartial
	for i, s := range c.slots {
		switch {
		case s.state == finished:
		case best >= 0 && i > best:
			rep.Attempts[i] = Attempt{Strategy: s.name, Outcome: OutcomeSkipped, Error: "an earlier strategy answered",
				DurationMS: s.runningMS()}
		case s.state == running:
			rep.Pending = append(rep.Pending, s.name)
			rep.Attempts[i] = Attempt{Strategy: s.name, Outcome: OutcomePending, Error: "still running when the fence wait ended",
				DurationMS: s.runningMS()}
		default:
			rep.Pending = append(rep.Pending, s.name)
			rep.Attempts[i] = Attempt{Strategy: s.name, Outcome: OutcomePending, Error: "not started when the fence wait ended"}
		}
	}
	c.answerLocked(&rep, best)
	if len(rep.Filesystems) == 0 {
		rep.Filesystems = []string{Pending}
	}
	return rep
}

// NotStarted is the partial report of a chain that had not even started
// (its source was still being built) when the fence wait ended: every
// strategy pending, no answer.
func NotStarted(order []string) Report {
	rep := Report{Enabled: true, State: StatePartial, Attempts: make([]Attempt, len(order)),
		Pending: slices.Clone(order), Filesystems: []string{Pending}}
	for i, name := range order {
		rep.Attempts[i] = Attempt{Strategy: name, Outcome: OutcomePending, Error: "not started when the fence wait ended"}
	}
	return rep
}

func (c *Chain) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (s slot) runningMS() float64 {
	if s.started.IsZero() {
		return 0
	}
	return ms(time.Since(s.started))
}

func answered(a Attempt) bool { return a.Outcome == OutcomeFound && len(a.Filesystems) > 0 }

// stepLocked decides the chain if it can and otherwise starts what should
// run now. Called at start, when a strategy finishes, and when a hedge
// timer fires.
func (c *Chain) stepLocked() {
	if c.finishing {
		return
	}
	decided := true
	for _, s := range c.slots {
		if s.state != finished {
			decided = false
			break
		}
		if answered(s.a) {
			break
		}
	}
	if decided {
		// The answer is in: hedges still running are stopped but not
		// waited for (their commands are killed as their context ends).
		c.finishLocked(false)
		return
	}
	next := -1
	fresh := false // a running strategy that has not yet had its hedge_after
	runningNow := 0
	for i, s := range c.slots {
		switch s.state {
		case running:
			runningNow++
			if c.opts.HedgeAfter <= 0 || s.calling.IsZero() || time.Since(s.calling) < c.opts.HedgeAfter {
				fresh = true
			}
		case idle:
			if next < 0 {
				next = i
			}
		case finished:
			if answered(s.a) && next < 0 {
				// Nothing after an answer can win: start nothing more.
				next = len(c.slots)
			}
		}
	}
	if next < 0 || next >= len(c.slots) || fresh {
		return
	}
	if c.ctx.Err() != nil {
		return // the budget goroutine finishes the chain
	}
	c.startLocked(next, runningNow > 0)
}

func (c *Chain) startLocked(i int, hedge bool) {
	ctx, cancel := context.WithCancel(c.ctx)
	s := &c.slots[i]
	s.state, s.started, s.cancel, s.hedge = running, time.Now(), cancel, hedge
	if hedge {
		c.hedges++
	}
	calling := func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.slots[i].calling = time.Now()
		if c.opts.HedgeAfter > 0 {
			time.AfterFunc(c.opts.HedgeAfter, func() {
				c.mu.Lock()
				defer c.mu.Unlock()
				c.stepLocked()
			})
		}
	}
	go func() {
		a := runOne(ctx, c.src, s.name, c.t, calling)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.slots[i].state, c.slots[i].a = finished, a
		cancel()
		if c.finishing {
			c.maybeDoneLocked()
			return
		}
		c.stepLocked()
	}()
}

// runOne loads and calls one strategy; calling is told between the two.
func runOne(ctx context.Context, src Source, name string, t Target, calling func()) Attempt {
	start := time.Now()
	s, err := src.Strategy(ctx, name)
	if err != nil {
		return Attempt{Strategy: name, Outcome: OutcomeLoadError, Error: err.Error(), DurationMS: ms(time.Since(start))}
	}
	calling()
	a := s.Discover(ctx, t)
	a.Strategy = name
	if a.Outcome == "" {
		a.Outcome = OutcomeError
		a.Error = "strategy returned no outcome"
	}
	if a.Outcome == OutcomeFound && len(a.Filesystems) == 0 {
		a.Outcome = OutcomeEmpty
	}
	a.DurationMS = ms(time.Since(start))
	return a
}

// finishLocked ends the chain: nothing more starts and running strategies
// are cancelled (an earlier one answered, or the budget or ctx ended). With
// wait, the report is final once they return (their attempts say how they
// ended) or stuckGrace has passed; without, at once.
func (c *Chain) finishLocked(wait bool) {
	if c.finishing {
		return
	}
	c.finishing = true
	waiting := false
	for _, s := range c.slots {
		if s.state == running {
			s.cancel()
			waiting = true
		}
	}
	if !waiting || !wait {
		c.closeLocked()
		return
	}
	time.AfterFunc(stuckGrace, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.isDone() {
			c.closeLocked()
		}
	})
}

func (c *Chain) maybeDoneLocked() {
	for _, s := range c.slots {
		if s.state == running {
			return
		}
	}
	if !c.isDone() {
		c.closeLocked()
	}
}

// closeLocked builds the final report and publishes it.
func (c *Chain) closeLocked() {
	rep := c.reportLocked()
	winner := -1
	for i, s := range c.slots {
		if s.state != finished {
			break
		}
		if answered(s.a) {
			winner = i
			break
		}
	}
	budgetSpent := c.ctx.Err() != nil
	for i, s := range c.slots {
		switch {
		case winner >= 0 && i > winner && !s.known && s.state != idle:
			// Started as a hedge, not needed: its commands were killed.
			a := s.a
			if s.state == running {
				a = Attempt{Strategy: s.name, DurationMS: s.runningMS()}
			}
			a.Outcome, a.Error, a.Filesystems = OutcomeSkipped, "stopped: an earlier strategy answered", nil
			rep.Attempts[i] = a
		case s.state == finished:
		case s.state == running:
			rep.Attempts[i] = Attempt{Strategy: s.name, Outcome: OutcomeTimeout, DurationMS: s.runningMS(),
				Error: "did not return when discovery ended (budget or cancel); its result was not waited for"}
		case winner >= 0:
			rep.Attempts[i] = Attempt{Strategy: s.name, Outcome: OutcomeSkipped, Error: "an earlier strategy answered"}
		case budgetSpent:
			rep.Attempts[i] = Attempt{Strategy: s.name, Outcome: OutcomeSkipped, Error: "discovery budget spent"}
		}
	}
	c.answerLocked(&rep, winner)
	if len(rep.Filesystems) == 0 {
		rep.Filesystems = []string{NoneDetected}
	}
	c.final = rep
	close(c.done)
	c.cancel()
}

// reportLocked is the report skeleton: every finished attempt in order.
func (c *Chain) reportLocked() Report {
	rep := Report{Enabled: true, Attempts: make([]Attempt, len(c.slots)), HedgesStarted: c.hedges}
	for i, s := range c.slots {
		rep.Attempts[i] = s.a
		rep.Attempts[i].Strategy = s.name
	}
	rep.DurationMS = ms(time.Since(c.begun))
	return rep
}

// answerLocked fills in the answer and marks the hedges.
func (c *Chain) answerLocked(rep *Report, winner int) {
	for i, s := range c.slots {
		rep.Attempts[i].Hedge = s.hedge
	}
	if winner < 0 {
		return
	}
	rep.Strategy = c.slots[winner].name
	rep.Filesystems = append([]string(nil), c.slots[winner].a.Filesystems...)
}
