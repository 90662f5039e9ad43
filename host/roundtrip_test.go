package host

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	rep := discovery.Run(context.Background(), src, cfg.Discovery.Order, discovery.Target{Node: "n", Action: "off"}, true, 0)

	assert.Equal(t, []discovery.Outcome{discovery.OutcomeFound, discovery.OutcomeSkipped}, outcomes(rep))
	src.mu.Lock()
	defer src.mu.Unlock()
	assert.Contains(t, src.loaded, "answers")
	assert.NotContains(t, src.loaded, "broken")
}
