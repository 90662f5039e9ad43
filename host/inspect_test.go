package host

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerifyPair(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "good", guest("tester"), nil)
	require.NoError(t, Verify(context.Background(), cfg))

	addStrategy(cfg, "gone", "/nonexistent/gone.wasm", nil)
	err := Verify(context.Background(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "strategy gone: module /nonexistent/gone.wasm does not exist")
	assert.NotContains(t, err.Error(), "strategy good")
}

func TestInspectReportsWhatTheGuestSays(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "good", guest("tester"), nil)
	sts := Inspect(context.Background(), cfg, nil)
	require.Len(t, sts, 1)
	st := sts[0]
	require.NoError(t, st.Err)
	assert.True(t, st.Verified())
	assert.Equal(t, 1, st.ABI)
	assert.Equal(t, "tester", st.GuestName, "the name the guest registered")
	assert.Equal(t, "go-sdk/1.0", st.SDK)
	assert.Equal(t, KindFile, st.Kind)

	needWAT(t)
	st = InspectFile(context.Background(), cfg, "future", guest("abi_v2"))
	assert.Equal(t, 2, st.ABI)
	assert.ErrorContains(t, st.Err, "plugin ABI version 2, host supports 1")
	assert.False(t, st.Verified())

	st = InspectFile(context.Background(), cfg, "wat", guest("answer"))
	require.NoError(t, st.Err)
	assert.Empty(t, st.SDK, "fgr_info is optional")
}

func TestWarm(t *testing.T) {
	cfg := testConfig(t)
	cfg.CacheDir = filepath.Join(t.TempDir(), "c")
	addStrategy(cfg, "good", guest("tester"), nil)
	sts, err := Warm(context.Background(), cfg)
	require.NoError(t, err)
	require.Len(t, sts, 1)
	assert.Greater(t, sts[0].CompileTime.Nanoseconds(), int64(0))

	cfg.CacheDir = ""
	_, err = Warm(context.Background(), cfg)
	assert.ErrorContains(t, err, "no compile cache to warm")
}
