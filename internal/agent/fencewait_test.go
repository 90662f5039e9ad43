package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
)

// scriptedSource hands out the strategies of a table and counts loads.
type scriptedSource struct {
	mu         sync.Mutex
	strategies map[string]discovery.Strategy
	asked      []string
}

func (s *scriptedSource) Strategy(_ context.Context, name string) (discovery.Strategy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, name)
	st, ok := s.strategies[name]
	if !ok {
		return nil, discovery.ErrUnknownStrategy
	}
	return st, nil
}

func (s *scriptedSource) loads() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.asked...)
}

// never is a strategy that does not return, whatever its context says:
// a guest asleep, a FIFO opened in the plugin directory.
func never(release <-chan struct{}) discovery.Strategy {
	return strategyFunc(func(context.Context, discovery.Target) discovery.Attempt {
		<-release
		return discovery.Attempt{Outcome: discovery.OutcomeError, Error: "released"}
	})
}

func answer(fs ...string) discovery.Strategy {
	return strategyFunc(func(context.Context, discovery.Target) discovery.Attempt {
		return discovery.Attempt{Outcome: discovery.OutcomeFound, Filesystems: fs}
	})
}

func outcome(o discovery.Outcome, why string) discovery.Strategy {
	return strategyFunc(func(context.Context, discovery.Target) discovery.Attempt {
		return discovery.Attempt{Outcome: o, Error: why}
	})
}

// serving is a SourceFactory handing out src, with nothing to release.
func serving(src discovery.Source) SourceFactory {
	return func(*config.Config, *slog.Logger) (discovery.Source, func(context.Context) error) {
		return src, func(context.Context) error { return nil }
	}
}

// boundedHarness: the default mode with a short fence wait and hedge, and
// Detach collecting jobs.
func boundedHarness(t *testing.T, src *scriptedSource, extra string) (*harness, *[][]byte) {
	h := newHarness(t, "")
	yaml := "log_dir: " + h.logDir + "\ncache_dir: \"\"\ndiscovery:\n  fence_wait: 300ms\n  hedge_after: 20ms\n" + extra
	require.NoError(t, os.WriteFile(h.cfgFile, []byte(yaml), 0o600))
	h.agent.NewSource = serving(src)
	var jobs [][]byte
	h.agent.Detach = func(job []byte, _ []string) error { jobs = append(jobs, job); return nil }
	return h, &jobs
}

// runWithin runs the agent and fails the test if it does not return: the
// bound is the point, but the limit is generous for a loaded machine.
func runWithin(t *testing.T, h *harness, in string) int {
	t.Helper()
	code := make(chan int, 1)
	go func() { code <- h.stdin(in) }()
	select {
	case c := <-code:
		return c
	case <-time.After(30 * time.Second):
		t.Fatal("the fence did not return although discovery was stuck")
		return -1
	}
}

// fenceOnce runs one fence within the bound, which must exit 0 and leave
// exactly one record, and returns that record.
func (h *harness) fenceOnce(in string) record.Event {
	h.t.Helper()
	require.Equal(h.t, 0, runWithin(h.t, h, in))
	evs := h.records()
	require.Len(h.t, evs, 1)
	return evs[0]
}

// The common case: the first strategy answers at once. One record, no
// hedge, no detached process.
func TestAnswerInTimeIsOneRecordWithoutHedgeOrDetachedProcess(t *testing.T) {
	src := &scriptedSource{strategies: map[string]discovery.Strategy{
		config.StrategyKubectlNNF: answer("default/fs1"),
		config.StrategyPcsStatus:  answer("never-asked"),
	}}
	h, jobs := boundedHarness(t, src, "")
	ev := h.fenceOnce("nodename=compute-node-3\naction=off\n")
	assert.Empty(t, ev.Discovery.State, "a record in time is not partial")
	assert.Equal(t, 0, ev.Discovery.HedgesStarted)
	assert.Equal(t, []string{"default/fs1"}, ev.GFS2Filesystems)
	assert.Empty(t, *jobs, "no detached process")
	assert.Equal(t, []string{config.StrategyKubectlNNF}, src.loads())
}

// kubectl-nnf never returns (a partition): pcs-status is started as a
// hedge, the record at the fence wait carries its answer and names
// kubectl-nnf as pending, and the completion process reruns only
// kubectl-nnf and appends the final record with the same event id.
func TestFenceWaitRecordsPartialThenCompletion(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	src := &scriptedSource{strategies: map[string]discovery.Strategy{
		config.StrategyKubectlNNF: never(release),
		config.StrategyPcsStatus:  answer("sharedfs"),
		config.StrategyPcsConfig:  answer("never-asked"),
	}}
	h, jobs := boundedHarness(t, src, "")
	first := h.fenceOnce("nodename=compute-node-3\naction=reboot\n")
	assert.Equal(t, discovery.StatePartial, first.Discovery.State)
	assert.Equal(t, config.StrategyPcsStatus, first.Discovery.Strategy)
	assert.Equal(t, []string{"sharedfs"}, first.GFS2Filesystems)
	assert.Equal(t, []string{config.StrategyKubectlNNF}, first.Discovery.Pending)
	assert.Equal(t, 1, first.Discovery.HedgesStarted)
	assert.Equal(t, []discovery.Outcome{discovery.OutcomePending, discovery.OutcomeFound, discovery.OutcomeSkipped}, outcomes(first.Discovery))
	assert.True(t, first.Discovery.Attempts[1].Hedge)
	assert.NotContains(t, src.loads(), config.StrategyPcsConfig)
	require.Len(t, *jobs, 1)

	var job deferredJob
	require.NoError(t, json.Unmarshal((*jobs)[0], &job))
	assert.Equal(t, first.EventID, job.Event.EventID)

	child := &scriptedSource{strategies: map[string]discovery.Strategy{
		config.StrategyKubectlNNF: outcome(discovery.OutcomeTimeout, "kubectl timed out"),
	}}
	h.agent.NewSource = serving(child)
	require.Equal(t, 0, h.finish((*jobs)[0]))
	evs := h.records()
	require.Len(t, evs, 2)
	second := evs[1]
	assert.Equal(t, first.EventID, second.EventID)
	assert.Equal(t, StateComplete, second.Discovery.State)
	assert.Equal(t, config.StrategyPcsStatus, second.Discovery.Strategy)
	assert.Equal(t, []string{"sharedfs"}, second.GFS2Filesystems)
	assert.Empty(t, second.Discovery.Pending)
	assert.Equal(t, discovery.OutcomeTimeout, second.Discovery.Attempts[0].Outcome)
	assert.Equal(t, "kubectl timed out", second.Discovery.Attempts[0].Error)
	assert.Equal(t, []string{config.StrategyKubectlNNF}, child.loads(), "only the pending strategy runs again")
}

// When the earlier strategy answers in the completion, its answer is the
// event's final one: preference order holds across the two records.
func TestCompletionTakesTheEarlierStrategysAnswer(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	src := &scriptedSource{strategies: map[string]discovery.Strategy{
		config.StrategyKubectlNNF: never(release),
		config.StrategyPcsStatus:  answer("sharedfs"),
	}}
	h, jobs := boundedHarness(t, src, "")
	require.Equal(t, 0, runWithin(t, h, "nodename=compute-node-3\naction=reboot\n"))
	require.Len(t, *jobs, 1)
	child := &scriptedSource{strategies: map[string]discovery.Strategy{config.StrategyKubectlNNF: answer("user/nnf-fs")}}
	h.agent.NewSource = serving(child)
	require.Equal(t, 0, h.finish((*jobs)[0]))
	evs := h.records()
	require.Len(t, evs, 2)
	assert.Equal(t, config.StrategyKubectlNNF, evs[1].Discovery.Strategy)
	assert.Equal(t, []string{"user/nnf-fs"}, evs[1].GFS2Filesystems)
}

// Nothing answers and nothing returns: the fence is still recorded at the
// wait, with the pending sentinel and every strategy pending.
func TestFenceWaitHoldsWhenNoStrategyReturns(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	src := &scriptedSource{strategies: map[string]discovery.Strategy{
		config.StrategyKubectlNNF: never(release),
		config.StrategyPcsStatus:  never(release),
		config.StrategyPcsConfig:  never(release),
	}}
	h, jobs := boundedHarness(t, src, "")
	ev := h.fenceOnce("nodename=compute-node-3\naction=off\n")
	assert.Equal(t, discovery.StatePartial, ev.Discovery.State)
	assert.Equal(t, []string{DiscoveryPending}, ev.GFS2Filesystems)
	assert.Equal(t, config.BuiltinStrategies, ev.Discovery.Pending)
	assert.Len(t, *jobs, 1)
}

// inline keeps today's single record after the whole chain, even when
// fence_wait is set; deferred keeps its pending record.
func TestInlineAndDeferredModesAreTheTwoExtremes(t *testing.T) {
	slow := strategyFunc(func(ctx context.Context, _ discovery.Target) discovery.Attempt {
		select {
		case <-time.After(400 * time.Millisecond):
		case <-ctx.Done():
		}
		return discovery.Attempt{Outcome: discovery.OutcomeFound, Filesystems: []string{"late"}}
	})
	src := &scriptedSource{strategies: map[string]discovery.Strategy{config.StrategyKubectlNNF: slow}}
	h, jobs := boundedHarness(t, src, "  mode: inline\n")
	ev := h.fenceOnce("nodename=compute-node-3\naction=off\n")
	assert.Equal(t, []string{"late"}, ev.GFS2Filesystems)
	assert.Empty(t, *jobs)

	h, jobs = boundedHarness(t, src, "  mode: deferred\n")
	ev = h.fenceOnce("nodename=compute-node-3\naction=off\n")
	assert.Equal(t, StatePending, ev.Discovery.State)
	assert.Len(t, *jobs, 1)
}

// Building the source may block too (a file open on a hung filesystem):
// the fence is recorded at the wait with every strategy pending.
func TestFenceWaitHoldsWhileTheSourceIsStillBeingBuilt(t *testing.T) {
	h, jobs := boundedHarness(t, &scriptedSource{}, "")
	release := make(chan struct{})
	defer close(release)
	h.agent.NewSource = func(*config.Config, *slog.Logger) (discovery.Source, func(context.Context) error) {
		<-release
		return &scriptedSource{}, func(context.Context) error { return nil }
	}
	ev := h.fenceOnce("nodename=compute-node-3\naction=off\n")
	assert.Equal(t, discovery.StatePartial, ev.Discovery.State)
	assert.Equal(t, []string{DiscoveryPending}, ev.GFS2Filesystems)
	assert.Equal(t, config.BuiltinStrategies, ev.Discovery.Pending)
	assert.Equal(t, []discovery.Outcome{discovery.OutcomePending, discovery.OutcomePending, discovery.OutcomePending}, outcomes(ev.Discovery))
	assert.Len(t, *jobs, 1)
}
