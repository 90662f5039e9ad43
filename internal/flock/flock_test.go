package flock

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two opens of one file are two flock holders, even in one process.
func TestWaitTakesAFreeLockAndGivesUpOnAHeldOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	holder, err := os.Create(path)
	require.NoError(t, err)
	defer holder.Close()
	other, err := os.Open(path)
	require.NoError(t, err)
	defer other.Close()

	require.NoError(t, Wait(context.Background(), holder, time.Second, 10*time.Millisecond))

	start := time.Now()
	err = Wait(context.Background(), other, 50*time.Millisecond, 10*time.Millisecond)
	assert.ErrorIs(t, err, syscall.EWOULDBLOCK)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "it waited before giving up")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, Wait(ctx, other, time.Minute, 10*time.Millisecond), context.Canceled)

	require.NoError(t, syscall.Flock(int(holder.Fd()), syscall.LOCK_UN))
	assert.NoError(t, Wait(context.Background(), other, time.Second, 10*time.Millisecond), "taken once the holder lets go")
}
