package discovery

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeStrategy answers with a fixed attempt, optionally after a delay that
// honours ctx like the real host does.
type fakeStrategy struct {
	answer Attempt
	delay  time.Duration
}

func (f fakeStrategy) Discover(ctx context.Context, t Target) Attempt {
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return Attempt{Outcome: OutcomeTimeout, Error: ctx.Err().Error()}
		}
	}
	return f.answer
}

// fakeSource resolves names from a map and counts the loads, so tests can
// prove that a strategy the chain never reaches is never loaded.
type fakeSource struct {
	strategies map[string]Strategy
	mu         sync.Mutex
	loaded     []string
}

func (s *fakeSource) Strategy(ctx context.Context, name string) (Strategy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded = append(s.loaded, name)
	st, ok := s.strategies[name]
	if !ok {
		return nil, errors.New(name + ": " + ErrUnknownStrategy.Error())
	}
	return st, nil
}

func outcomes(r Report) []Outcome {
	out := make([]Outcome, len(r.Attempts))
	for i, a := range r.Attempts {
		out[i] = a.Outcome
	}
	return out
}

var target = Target{Node: "compute-node-3", Action: "reboot"}

func TestFirstNonEmptyAnswerWinsAndLaterStrategiesAreNotLoaded(t *testing.T) {
	src := &fakeSource{strategies: map[string]Strategy{
		"a": fakeStrategy{answer: Attempt{Outcome: OutcomeEmpty}},
		"b": fakeStrategy{answer: Attempt{Outcome: OutcomeFound, Filesystems: []string{"default/fs1", "default/fs2"}}},
		"c": fakeStrategy{answer: Attempt{Outcome: OutcomeFound, Filesystems: []string{"never"}}},
	}}
	rep := Run(context.Background(), src, []string{"a", "b", "c"}, target, Options{Budget: time.Second})

	assert.True(t, rep.Enabled)
	assert.Equal(t, "b", rep.Strategy)
	assert.Equal(t, []string{"default/fs1", "default/fs2"}, rep.Filesystems)
	assert.Equal(t, []Outcome{OutcomeEmpty, OutcomeFound, OutcomeSkipped}, outcomes(rep))
	assert.Equal(t, []string{"a", "b"}, src.loaded, "c must not be loaded once b answered")
	for i, name := range []string{"a", "b", "c"} {
		assert.Equal(t, name, rep.Attempts[i].Strategy)
	}
}

func TestAllFailingGivesNoneDetectedWithEveryAttempt(t *testing.T) {
	src := &fakeSource{strategies: map[string]Strategy{
		"a": fakeStrategy{answer: Attempt{Outcome: OutcomeError, Error: "kubectl exited 1"}},
		"b": fakeStrategy{answer: Attempt{Outcome: OutcomeCrashed, Error: "panic: boom"}},
	}}
	rep := Run(context.Background(), src, []string{"a", "missing", "b"}, target, Options{Budget: time.Second})

	assert.Equal(t, []string{NoneDetected}, rep.Filesystems)
	assert.Empty(t, rep.Strategy)
	assert.Equal(t, []Outcome{OutcomeError, OutcomeLoadError, OutcomeCrashed}, outcomes(rep))
	assert.Contains(t, rep.Attempts[1].Error, "unknown strategy")
	assert.Equal(t, "kubectl exited 1", rep.Attempts[0].Error)
}

func TestInvalidTargetRunsNothing(t *testing.T) {
	src := &fakeSource{strategies: map[string]Strategy{
		"a": fakeStrategy{answer: Attempt{Outcome: OutcomeFound, Filesystems: []string{"x"}}},
	}}
	rep := Run(context.Background(), src, []string{"a", "b"}, Target{Node: "-rf /"}, Options{Budget: time.Second})

	assert.Empty(t, src.loaded, "no strategy may even be loaded for an unsafe target")
	assert.Equal(t, []Outcome{OutcomeInvalidTarget, OutcomeInvalidTarget}, outcomes(rep))
	assert.Equal(t, []string{NoneDetected}, rep.Filesystems)
}

func TestBudgetStopsTheChain(t *testing.T) {
	src := &fakeSource{strategies: map[string]Strategy{
		"slow": fakeStrategy{delay: time.Hour},
		"next": fakeStrategy{answer: Attempt{Outcome: OutcomeFound, Filesystems: []string{"x"}}},
	}}
	rep := Run(context.Background(), src, []string{"slow", "next"}, target, Options{Budget: 30 * time.Millisecond})

	require.Len(t, rep.Attempts, 2)
	assert.Equal(t, OutcomeTimeout, rep.Attempts[0].Outcome)
	assert.Equal(t, OutcomeSkipped, rep.Attempts[1].Outcome)
	assert.Equal(t, "discovery budget spent", rep.Attempts[1].Error)
	assert.Equal(t, []string{"slow"}, src.loaded)
	assert.Less(t, rep.DurationMS, float64(time.Hour.Milliseconds()))
}

func TestStrategyOutcomesAreNormalised(t *testing.T) {
	src := &fakeSource{strategies: map[string]Strategy{
		"found-nothing": fakeStrategy{answer: Attempt{Outcome: OutcomeFound}},
		"no-outcome":    fakeStrategy{answer: Attempt{}},
		"renamed":       fakeStrategy{answer: Attempt{Strategy: "liar", Outcome: OutcomeEmpty}},
	}}
	rep := Run(context.Background(), src, []string{"found-nothing", "no-outcome", "renamed"}, target, Options{})

	assert.Equal(t, []Outcome{OutcomeEmpty, OutcomeError, OutcomeEmpty}, outcomes(rep))
	assert.Equal(t, "strategy returned no outcome", rep.Attempts[1].Error)
	assert.Equal(t, "renamed", rep.Attempts[2].Strategy, "the chain, not the strategy, names the attempt")
	assert.Equal(t, []string{NoneDetected}, rep.Filesystems)
}

func TestEmptyOrderAndDisabled(t *testing.T) {
	rep := Run(context.Background(), &fakeSource{}, nil, target, Options{Budget: time.Second})
	assert.Equal(t, []string{NoneDetected}, rep.Filesystems)
	assert.NotNil(t, rep.Attempts, "attempts must encode as [] not null")

	d := Disabled()
	assert.False(t, d.Enabled)
	assert.Equal(t, []string{DiscoveryDisabled}, d.Filesystems)
	assert.NotNil(t, d.Attempts)
}

func TestWinnerFilesystemsAreACopy(t *testing.T) {
	fs := []string{"a"}
	src := &fakeSource{strategies: map[string]Strategy{"s": fakeStrategy{answer: Attempt{Outcome: OutcomeFound, Filesystems: fs}}}}
	rep := Run(context.Background(), src, []string{"s"}, target, Options{Budget: time.Second})
	rep.Filesystems[0] = "changed"
	assert.Equal(t, "a", rep.Attempts[0].Filesystems[0])
}

// preparingSource records Prepare calls and whether their context was
// still alive when the chain loaded its first strategy.
type preparingSource struct {
	fakeSource
	prepared []Target
	ctx      context.Context
	aliveAt  []bool
}

func (s *preparingSource) Prepare(ctx context.Context, order []string, t Target) {
	s.prepared = append(s.prepared, t)
	s.ctx = ctx
}

func (s *preparingSource) Strategy(ctx context.Context, name string) (Strategy, error) {
	s.aliveAt = append(s.aliveAt, s.ctx != nil && s.ctx.Err() == nil)
	return s.fakeSource.Strategy(ctx, name)
}

// A Source that can prepare is told the target before the first strategy
// loads, within the chain's lifetime, and never for an invalid target.
func TestRunPreparesTheSourceForValidTargets(t *testing.T) {
	src := &preparingSource{fakeSource: fakeSource{strategies: map[string]Strategy{
		"a": fakeStrategy{answer: Attempt{Outcome: OutcomeFound, Filesystems: []string{"x"}}}}}}
	Run(context.Background(), src, []string{"a"}, target, Options{}) // no budget: the chain still ends
	assert.Equal(t, []Target{target}, src.prepared)
	assert.Equal(t, []bool{true}, src.aliveAt)
	assert.Error(t, src.ctx.Err(), "what Prepare started ends with the chain")

	src = &preparingSource{fakeSource: fakeSource{strategies: map[string]Strategy{}}}
	Run(context.Background(), src, []string{"a"}, Target{Node: "bad name"}, Options{Budget: time.Second})
	assert.Empty(t, src.prepared)
}
