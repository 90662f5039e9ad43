package host

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
)

// A guest asleep in poll_oneoff is stopped at its timeout like a looping
// one: the host ends the sleep, and the guest's next instruction is closed.
func TestSleepingGuestIsStoppedAtItsTimeout(t *testing.T) {
	cases := map[string]func(cfg *config.Config){
		"go guest, time.Sleep(time.Hour)": func(cfg *config.Config) {
			addStrategy(cfg, "sleeper", guest("tester"), map[string]any{"mode": "sleep", "duration": "1h"})
		},
		"wat guest, poll_oneoff of an hour in a loop": func(cfg *config.Config) {
			needWAT(t)
			addStrategy(cfg, "sleeper", guest("sleep"), nil)
		},
	}
	for name, add := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t)
			add(cfg)
			setStrategy(cfg, "sleeper", func(s *config.Strategy) { s.Timeout = 300 * time.Millisecond })
			addStrategy(cfg, "next", guest("tester"), map[string]any{"filesystems": []any{"after/sleep"}})
			start := time.Now()

			rep := runChain(t, cfg, "n", nil)

			// Generous: an unstopped guest sleeps an hour.
			assert.Less(t, time.Since(start), time.Minute)
			assert.Equal(t, []discovery.Outcome{discovery.OutcomeTimeout, discovery.OutcomeFound}, outcomes(rep))
			assert.Contains(t, rep.Attempts[0].Error, "timeout of 300ms exceeded")
			assert.Equal(t, []string{"after/sleep"}, rep.Filesystems)
		})
	}
}

// A short sleep still sleeps (the bound ends sleeps early only when the
// call is over).
func TestShortGuestSleepCompletes(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "nap", guest("tester"), map[string]any{"mode": "sleep", "duration": "100ms", "filesystems": []any{"a/b"}})
	start := time.Now()
	rep := runChain(t, cfg, "n", nil)
	assert.Equal(t, discovery.OutcomeFound, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
}

// Lines past the per-call limits reach neither the operational log nor the
// record; the overflow is said once in each.
func TestGuestLogFloodReachesNeitherLogNorRecordPastTheLimits(t *testing.T) {
	for name, c := range map[string]struct {
		count, pad string
		kept       int
	}{
		"lines": {count: "20000", kept: maxLogLines},
		// 1000 lines of 2 KiB would be 2 MB; the byte limit keeps 256 KiB.
		"bytes": {count: "1000", pad: strings.Repeat("y", 2048), kept: maxLogBytes / (2048 + len("flood 000"))},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t)
			addStrategy(cfg, "flood", guest("tester"), map[string]any{"mode": "logflood", "count": c.count, "pad": c.pad, "filesystems": []any{"a/b"}})
			rec := &logRecorder{}

			rep := runChain(t, cfg, "n", slog.New(rec))

			a := rep.Attempts[0]
			require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
			assert.InDelta(t, c.kept+1, len(a.Logs), 2)
			assert.Contains(t, a.Logs[len(a.Logs)-1].Msg, "more guest log lines dropped")
			guestLines, warnings := 0, 0
			for _, r := range rec.all() {
				if strings.HasPrefix(r.Message, "flood ") {
					guestLines++
				}
				if strings.HasPrefix(r.Message, "guest log limit reached") {
					warnings++
				}
			}
			assert.Equal(t, len(a.Logs)-1, guestLines, "the operational log gets what the record keeps, no more")
			assert.Equal(t, 1, warnings)
		})
	}
}

func TestAnswerWithTooManyNamesIsAnError(t *testing.T) {
	names := make([]any, maxFilesystems+1)
	for i := range names {
		names[i] = "fs/" + string(rune('a'+i%26))
	}
	cfg := testConfig(t)
	addStrategy(cfg, "many", guest("tester"), map[string]any{"filesystems": names})

	rep := runChain(t, cfg, "n", nil)

	assert.Equal(t, discovery.OutcomeError, rep.Attempts[0].Outcome)
	assert.Contains(t, rep.Attempts[0].Error, "4097 filesystem names, over the limit of 4096")
	assert.NotContains(t, rep.Filesystems, "fs/a")
}

// A FIFO where a module should be is refused at once (open(2) on a FIFO
// without a writer blocks for ever).
func TestFIFOAsModuleIsRefusedWithoutHanging(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo.wasm")
	require.NoError(t, syscall.Mkfifo(p, 0o644))
	cfg := testConfig(t)
	addStrategy(cfg, "fifo", p, nil)
	done := make(chan discovery.Report, 1)
	go func() { done <- runChain(t, cfg, "n", nil) }()
	select {
	case rep := <-done:
		assert.Equal(t, discovery.OutcomeLoadError, rep.Attempts[0].Outcome)
		assert.Contains(t, rep.Attempts[0].Error, "not a regular file (a FIFO)")
	case <-time.After(time.Minute):
		t.Fatal("loading a FIFO as a module hangs")
	}
	st := InspectFile(context.Background(), cfg, "fifo", p)
	assert.ErrorContains(t, st.Err, "not a regular file (a FIFO)")
}

// A sticky world-writable directory (/tmp) is no risk to a file root owns
// in it; a non-sticky one is, and its mode is printed as chmod takes it.
func TestWritableDirectoryModesAreReportedAsChmodTakesThem(t *testing.T) {
	for mode, refused := range map[uint32]bool{0o777: true, 0o1777: false, 0o2777: true} {
		dir := filepath.Join(t.TempDir(), "d")
		require.NoError(t, os.Mkdir(dir, 0o755))
		p := filepath.Join(dir, "m.wasm")
		copyFile(t, guest("tester"), p, 0o644)
		require.NoError(t, syscall.Chmod(dir, mode))
		_, err := ReadModule(p)
		if !refused {
			assert.NoError(t, err, "%04o", mode)
			continue
		}
		assert.ErrorContains(t, err, fmt.Sprintf("has mode %04o", mode))
	}
}

// A grandparent directory anyone may write is as unsafe as the parent.
func TestWritableAncestorDirectoryIsRefused(t *testing.T) {
	top := filepath.Join(t.TempDir(), "open")
	dir := filepath.Join(top, "plugins")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	p := filepath.Join(dir, "m.wasm")
	copyFile(t, guest("tester"), p, 0o644)
	require.NoError(t, os.Chmod(top, 0o777))
	_, err := ReadModule(p)
	assert.ErrorContains(t, err, "its directory "+top+" has mode 0777")
}

func TestUndefinedWASIImportIsNamedNotCalledATrap(t *testing.T) {
	needWAT(t)
	cfg := testConfig(t)
	addStrategy(cfg, "w", guest("wasi_unknown"), nil)

	rep := runChain(t, cfg, "n", nil)

	assert.Equal(t, discovery.OutcomeLoadError, rep.Attempts[0].Outcome)
	assert.Contains(t, rep.Attempts[0].Error, "wasi_snapshot_preview1.sock_open")
	assert.NotContains(t, rep.Attempts[0].Error, "trapped")
}

// A file checked on its own is checked under the limits of the strategy
// it is configured for, whatever its file name.
func TestInspectFileUsesTheConfiguredStrategysLimits(t *testing.T) {
	needWAT(t)
	p := filepath.Join(t.TempDir(), "inventory-v2.wasm")
	copyFile(t, guest("big_memory"), p, 0o644)
	cfg := testConfig(t)
	addStrategy(cfg, "inventory", p, nil)

	st := InspectFile(context.Background(), cfg, "inventory-v2", p)
	assert.Error(t, st.Err, "80 MiB of memory is over the default 64 MiB")

	setStrategy(cfg, "inventory", func(s *config.Strategy) { s.MemoryLimit = 128 << 20 })
	st = InspectFile(context.Background(), cfg, "inventory-v2", p)
	assert.NoError(t, st.Err)
	assert.Equal(t, "inventory", st.Name)
}
