package host

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
)

func TestGoGuestRoundTrip(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "tester", guest("tester"), map[string]any{
		"mode": "echo", "filesystems": []any{"default/gfs2-a", "ns2/projgfs"}})

	rep := runChain(t, cfg, "compute-node-3", nil)

	require.Len(t, rep.Attempts, 1)
	a := rep.Attempts[0]
	require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
	assert.Equal(t, []string{"default/gfs2-a", "ns2/projgfs"}, a.Filesystems)
	assert.Equal(t, []string{"default/gfs2-a", "ns2/projgfs"}, rep.Filesystems)
	assert.Equal(t, "tester", rep.Strategy)
	assert.Equal(t, "compute-node-3", a.Details["node"])
	assert.Equal(t, "reboot", a.Details["action"])
	assert.Equal(t, guest("tester"), a.Source)
}

func TestGoGuestEmptyAnswerLetsTheChainGoOn(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "first", guest("tester"), map[string]any{"mode": "echo"})
	addStrategy(cfg, "second", guest("tester"), map[string]any{"mode": "echo", "filesystems": []any{"b/fs"}})
	addStrategy(cfg, "third", guest("tester"), map[string]any{"mode": "echo", "filesystems": []any{"c/fs"}})

	rep := runChain(t, cfg, "n1", nil)

	assert.Equal(t, []discovery.Outcome{discovery.OutcomeEmpty, discovery.OutcomeFound, discovery.OutcomeSkipped}, outcomes(rep))
	assert.Equal(t, []string{"b/fs"}, rep.Filesystems)
}

func TestWATGuestRoundTripWithoutSDKOrWASI(t *testing.T) {
	needWAT(t)
	cfg := testConfig(t)
	addStrategy(cfg, "wat", guest("answer"), nil)

	rep := runChain(t, cfg, "n1", nil)

	require.Equal(t, discovery.OutcomeFound, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
	assert.Equal(t, []string{"wat/fixed"}, rep.Filesystems)
	assert.Equal(t, "wat", rep.Attempts[0].Details["lang"])
}

func TestStrategyIsLoadedOnlyWhenReached(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "answers", guest("tester"), map[string]any{"filesystems": []any{"a/fs"}})
	// Never reached: a load would fail loudly.
	addStrategy(cfg, "broken", "/nonexistent/broken.wasm", nil)

	src := NewSource(cfg, nil)
	defer src.Close(context.Background())
	rep := discovery.Run(context.Background(), src, cfg.Discovery.Order, discovery.NewTarget("n", "off"), discovery.Options{})

	assert.Equal(t, []discovery.Outcome{discovery.OutcomeFound, discovery.OutcomeSkipped}, outcomes(rep))
	_, loaded := src.loadOf(t, "answers")
	assert.True(t, loaded)
	_, loaded = src.loadOf(t, "broken")
	assert.False(t, loaded)
}

// With Prefetch, the next strategy loads while the current one waits on its
// command; with the default (off) it loads only when the chain reaches it.
func TestPrefetchLoadsTheNextStrategyDuringACommand(t *testing.T) {
	for _, prefetch := range []bool{false, true} {
		cfg := testConfig(t)
		cfg.Commands["true"] = config.Command{Path: "/bin/true", Timeout: time.Second}
		addStrategy(cfg, "first", guest("tester"), map[string]any{"mode": "exec", "command": "true", "filesystems": []any{"a/fs"}}, "true")
		// Another file: strategies served by one module share its load.
		addStrategy(cfg, "second", copyOf(t, guest("tester")), map[string]any{"filesystems": []any{"b/fs"}})
		src := NewSource(cfg, nil)
		src.Prefetch = prefetch
		st, err := src.Strategy(context.Background(), "first")
		require.NoError(t, err)
		_, early := src.loadOf(t, "second")
		assert.False(t, early, "loading the first strategy does not prefetch")
		a := st.Discover(context.Background(), discovery.Target{Node: "n", Action: "off"})
		require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
		l, started := src.loadOf(t, "second")
		assert.Equal(t, prefetch, started, "prefetch=%v", prefetch)
		if started {
			<-l.done
			require.NoError(t, l.err)
			second, err := src.Strategy(context.Background(), "second")
			require.NoError(t, err)
			assert.Same(t, l.mod, second.(*strategy).mod, "the chain gets the prefetched instance")
		}
		require.NoError(t, src.Close(context.Background()))
	}
}

// Close while a prefetch is still compiling returns at once; the prefetch
// releases the runtime when it ends, and the Source refuses new work.
func TestCloseDuringPrefetchDoesNotWait(t *testing.T) {
	cfg := testConfig(t)
	cfg.CacheDir = "" // a full compile: slow enough to still be running at Close
	addStrategy(cfg, "first", guest("tester"), nil)
	addStrategy(cfg, "second", copyOf(t, guest("tester")), nil)
	src := NewSource(cfg, nil)
	src.Prefetch = true
	src.prefetchAfter("first")
	l, _ := src.loadOf(t, "second")
	require.NotNil(t, l)
	require.NoError(t, src.Close(context.Background()))
	select {
	case <-l.done:
		t.Log("the prefetch finished before Close; the race this test is about did not happen this time")
	default:
	}
	<-l.done
	assert.Error(t, l.err, "a load that ends after Close hands out nothing")
	_, err := src.Strategy(context.Background(), "second")
	assert.ErrorContains(t, err, "host is closed")
	src.mu.Lock()
	defer src.mu.Unlock()
	assert.Zero(t, src.busy)
	assert.Empty(t, src.eng.runtimes, "the last load closed the engine")
}
