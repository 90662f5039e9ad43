package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SPEC §7 item 6: defaults, NNF_FENCE_* over them, parameters over both.
func TestStorageFenceDirsLayering(t *testing.T) {
	l, err := Load(LoadOptions{Environ: []string{}})
	require.NoError(t, err)
	assert.Equal(t, "/localdisk/fence-recorder/requests", l.Config.StorageFence.RequestDir)
	assert.Equal(t, "/localdisk/fence-recorder/responses", l.Config.StorageFence.ResponseDir)
	assert.Equal(t, 45*time.Second, l.Config.StorageFence.Timeout)

	env := []string{"NNF_FENCE_REQUEST_DIR=/srv/req", "NNF_FENCE_RESPONSE_DIR=/srv/resp",
		"FENCE_TIMEOUT=20", "POLL_INTERVAL=0.25", "CLEANUP_MAX_AGE=600"}
	l, err = Load(LoadOptions{Environ: env})
	require.NoError(t, err)
	sf := l.Config.StorageFence
	assert.Equal(t, "/srv/req", sf.RequestDir)
	assert.Equal(t, "/srv/resp", sf.ResponseDir)
	assert.Equal(t, 20*time.Second, sf.Timeout)
	assert.Equal(t, 250*time.Millisecond, sf.PollInterval)
	assert.Equal(t, 600*time.Second, sf.CleanupMaxAge)
	assert.Equal(t, "env:FENCE_TIMEOUT", l.Sources["storage_fence.timeout"])

	l, err = Load(LoadOptions{Environ: env, OverrideLayer: "stdin", Overrides: map[string]any{
		"storage_fence.request_dir": "/p/req", "storage_fence.timeout": "30s"}})
	require.NoError(t, err)
	assert.Equal(t, "/p/req", l.Config.StorageFence.RequestDir)
	assert.Equal(t, "/srv/resp", l.Config.StorageFence.ResponseDir)
	assert.Equal(t, 30*time.Second, l.Config.StorageFence.Timeout)
	assert.Equal(t, "stdin", l.Sources["storage_fence.timeout"])
}

// SPEC §7 item 21: invalid or non-positive environment values fall back to
// the default with a warning; they never fail the configuration.
func TestStorageFenceBadEnvIsWarnedAndIgnored(t *testing.T) {
	for _, kv := range []string{"FENCE_TIMEOUT=abc", "FENCE_TIMEOUT=0", "FENCE_TIMEOUT=-5", "FENCE_TIMEOUT=100000",
		"POLL_INTERVAL=-1", "POLL_INTERVAL=x", "CLEANUP_MAX_AGE=0", "NNF_FENCE_REQUEST_DIR=relative/dir"} {
		l, err := Load(LoadOptions{Environ: []string{kv}})
		require.NoError(t, err, kv)
		assert.Equal(t, Defaults().StorageFence, l.Config.StorageFence, kv)
		require.NotEmpty(t, l.Warnings, kv)
		assert.Contains(t, l.Warnings[0], "ignored", kv)
	}
}

func TestStorageFenceValidation(t *testing.T) {
	c := Defaults()
	c.StorageFence.ResponseDir = c.StorageFence.RequestDir
	assert.ErrorContains(t, c.Validate(), "must differ")
	c = Defaults()
	c.StorageFence.Timeout = 10 * time.Minute
	assert.ErrorContains(t, c.Validate(), "storage_fence.timeout")
	_, err := Load(LoadOptions{Overrides: map[string]any{"storage_fence.timeout": "0"}, OverrideLayer: "argv"})
	assert.ErrorContains(t, err, "storage_fence.timeout")
}
