package discovery

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gated answers when release is closed, or reports a timeout when its
// context ends first (as the host does); stuck ignores its context, like a
// file open that blocks.
type gated struct {
	answer  Attempt
	release chan struct{}
	stuck   bool
	started chan struct{} // closed when Discover is entered; may be nil
}

func newGated(a Attempt) *gated {
	return &gated{answer: a, release: make(chan struct{}), started: make(chan struct{})}
}

func (g *gated) Discover(ctx context.Context, t Target) Attempt {
	close(g.started)
	if g.stuck {
		<-g.release
		return g.answer
	}
	select {
	case <-g.release:
		return g.answer
	case <-ctx.Done():
		return Attempt{Outcome: OutcomeTimeout, Error: "stopped: " + ctx.Err().Error()}
	}
}

func found(fs ...string) Attempt { return Attempt{Outcome: OutcomeFound, Filesystems: fs} }

// waitStarted fails the test if g never starts within a generous bound.
func waitStarted(t *testing.T, g *gated) {
	t.Helper()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("strategy never started")
	}
}

func TestNoHedgeWhenTheFirstStrategyAnswersInTime(t *testing.T) {
	src := &fakeSource{strategies: map[string]Strategy{
		"a": fakeStrategy{answer: found("fs")},
		"b": fakeStrategy{answer: found("other")},
	}}
	rep := Run(context.Background(), src, []string{"a", "b"}, target, Options{Budget: time.Minute, HedgeAfter: time.Minute})
	assert.Equal(t, "a", rep.Strategy)
	assert.Equal(t, 0, rep.HedgesStarted)
	assert.Equal(t, []string{"a"}, src.loaded, "b is never even loaded")
	assert.False(t, rep.Attempts[0].Hedge)
}

// The next strategy starts when the one in front is slow, but its answer
// waits for the earlier one: when that comes with something else, it wins.
func TestEarlierAnswerWinsOverAHedgeThatAnsweredFirst(t *testing.T) {
	slow, fast := newGated(found("from-a")), newGated(found("from-b"))
	close(fast.release)
	src := &fakeSource{strategies: map[string]Strategy{"a": slow, "b": fast}}
	c := Start(context.Background(), src, []string{"a", "b", "c"}, target, Options{Budget: time.Minute, HedgeAfter: 10 * time.Millisecond})
	defer c.Stop()
	waitStarted(t, fast)
	// b has answered (or is about to); the chain must still wait for a.
	time.Sleep(50 * time.Millisecond)
	select {
	case <-c.Done():
		t.Fatal("the chain took a later answer while an earlier strategy was running")
	default:
	}
	close(slow.release)
	rep := c.Report()

	assert.Equal(t, "a", rep.Strategy)
	assert.Equal(t, []string{"from-a"}, rep.Filesystems)
	assert.Equal(t, 1, rep.HedgesStarted)
	assert.Equal(t, []Outcome{OutcomeFound, OutcomeSkipped, OutcomeSkipped}, outcomes(rep))
	assert.True(t, rep.Attempts[1].Hedge)
	assert.Equal(t, "stopped: an earlier strategy answered", rep.Attempts[1].Error)
	assert.NotContains(t, src.loaded, "c", "nothing after an answer is started")
}

// An earlier strategy that ends empty hands the answer to the hedge.
func TestHedgeAnswerIsTakenWhenTheEarlierOneEndsEmpty(t *testing.T) {
	slow, fast := newGated(Attempt{Outcome: OutcomeEmpty}), newGated(found("from-b"))
	close(fast.release)
	src := &fakeSource{strategies: map[string]Strategy{"a": slow, "b": fast}}
	c := Start(context.Background(), src, []string{"a", "b"}, target, Options{Budget: time.Minute, HedgeAfter: 10 * time.Millisecond})
	defer c.Stop()
	waitStarted(t, fast)
	close(slow.release)
	rep := c.Report()
	assert.Equal(t, "b", rep.Strategy)
	assert.Equal(t, []Outcome{OutcomeEmpty, OutcomeFound}, outcomes(rep))
}

// A snapshot takes the best answer so far and names the earlier strategies
// still running; a completion run with those attempts known runs only them.
func TestSnapshotNamesPendingStrategiesAndCompletionRunsOnlyThem(t *testing.T) {
	stuck, fast := newGated(found("from-a")), newGated(found("from-b"))
	stuck.stuck = true
	close(fast.release)
	src := &fakeSource{strategies: map[string]Strategy{"a": stuck, "b": fast}}
	c := Start(context.Background(), src, []string{"a", "b", "c"}, target, Options{Budget: time.Minute, HedgeAfter: 10 * time.Millisecond})
	waitStarted(t, fast)
	var snap Report
	require.Eventually(t, func() bool { snap = c.Snapshot(); return snap.Strategy != "" }, 10*time.Second, 5*time.Millisecond)

	assert.Equal(t, StatePartial, snap.State)
	assert.Equal(t, "b", snap.Strategy)
	assert.Equal(t, []string{"from-b"}, snap.Filesystems)
	assert.Equal(t, []string{"a"}, snap.Pending)
	assert.Equal(t, []Outcome{OutcomePending, OutcomeFound, OutcomeSkipped}, outcomes(snap))

	stopped := make(chan struct{})
	go func() { c.Stop(); close(stopped) }()
	select {
	case <-stopped: // a stuck strategy is not waited for beyond the grace
	case <-time.After(10 * time.Second):
		t.Fatal("Stop waited for a strategy that ignores its context")
	}
	close(stuck.release)

	again := newGated(Attempt{Outcome: OutcomeTimeout, Error: "kubectl timed out"})
	close(again.release)
	src2 := &fakeSource{strategies: map[string]Strategy{"a": again}}
	rep := Run(context.Background(), src2, []string{"a", "b", "c"}, target, Options{Budget: time.Minute, Known: snap.Attempts})
	assert.Equal(t, []string{"a"}, src2.loaded, "only the pending strategy runs again")
	assert.Equal(t, "b", rep.Strategy)
	assert.Equal(t, []string{"from-b"}, rep.Filesystems)
	assert.Equal(t, []Outcome{OutcomeTimeout, OutcomeFound, OutcomeSkipped}, outcomes(rep))
}

// With nothing answered yet every unfinished strategy is pending and the
// record carries no answer.
func TestSnapshotWithoutAnswer(t *testing.T) {
	g := newGated(found("x"))
	src := &fakeSource{strategies: map[string]Strategy{"a": g}}
	c := Start(context.Background(), src, []string{"a", "b"}, target, Options{Budget: time.Minute})
	defer c.Stop()
	waitStarted(t, g)
	snap := c.Snapshot()
	assert.Empty(t, snap.Strategy)
	assert.Equal(t, []string{Pending}, snap.Filesystems)
	assert.Equal(t, []string{"a", "b"}, snap.Pending)
	assert.Equal(t, "not started when the fence wait ended", snap.Attempts[1].Error)
}

// The budget ends the chain even when a strategy never returns.
func TestBudgetEndsAChainWhoseStrategyNeverReturns(t *testing.T) {
	g := newGated(found("x"))
	g.stuck = true
	defer close(g.release)
	src := &fakeSource{strategies: map[string]Strategy{"a": g, "b": fakeStrategy{answer: found("y")}}}
	rep := Run(context.Background(), src, []string{"a", "b"}, target, Options{Budget: 20 * time.Millisecond})
	assert.Equal(t, []Outcome{OutcomeTimeout, OutcomeSkipped}, outcomes(rep))
	assert.Equal(t, []string{NoneDetected}, rep.Filesystems)
}

// slowLoad takes its time to hand out a strategy, like a cold compile.
type slowLoad struct {
	fakeSource
	delay time.Duration
}

func (s *slowLoad) Strategy(ctx context.Context, name string) (Strategy, error) {
	time.Sleep(s.delay)
	return s.fakeSource.Strategy(ctx, name)
}

// A strategy whose module is still loading is not hedged: a second load
// beside a compile would only compete for the CPU.
func TestALoadIsNotHedged(t *testing.T) {
	src := &slowLoad{delay: 200 * time.Millisecond, fakeSource: fakeSource{strategies: map[string]Strategy{
		"a": fakeStrategy{answer: found("fs")},
		"b": fakeStrategy{answer: found("other")},
	}}}
	rep := Run(context.Background(), src, []string{"a", "b"}, target, Options{Budget: time.Minute, HedgeAfter: time.Millisecond})
	assert.Equal(t, "a", rep.Strategy)
	assert.Equal(t, 0, rep.HedgesStarted)
	assert.Equal(t, []string{"a"}, src.loaded)
}
