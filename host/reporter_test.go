package host

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
)

var (
	reporterOnce sync.Once
	reporterErr  error
)

func reporterGuest(t *testing.T) string {
	t.Helper()
	reporterOnce.Do(func() { reporterErr = buildGoGuest("./testdata/guests/reporter", guest("reporter")) })
	require.NoError(t, reporterErr)
	return guest("reporter")
}

// reporterConfig configures test-reporter in mode, with a "sink" command
// that appends its stdin to the returned file.
func reporterConfig(t *testing.T, mode string) (*config.Config, string) {
	cfg := testConfig(t)
	sink := filepath.Join(t.TempDir(), "delivered.jsonl")
	cfg.Commands["sink"] = config.Command{Path: "/bin/sh", Args: []string{"-c", `cat >> "$0"`, sink}, Timeout: 5 * time.Second}
	cfg.Reporting.Reporters = map[string]config.Strategy{"test-reporter": {File: reporterGuest(t), Timeout: 2 * time.Second,
		MemoryLimit: 16 << 20, Allow: []string{"sink"}, Config: map[string]any{"mode": mode}}}
	cfg.Reporting.Order = []string{"test-reporter"}
	return cfg, sink
}

const testRecord = `{"event_id":"01a2115c-8a40-7c3e-9f0e-5d2b7a1c4e8f","action":"off","target_node":"compute-node-3"}`

func TestReporterDeliversThroughStdin(t *testing.T) {
	cfg, sink := reporterConfig(t, "deliver")
	r := NewReporters(cfg, nil)
	defer r.Close(context.Background())
	for range 2 { // the instance is reused
		require.NoError(t, r.Report(context.Background(), "test-reporter", []byte(testRecord)))
	}
	b, err := os.ReadFile(sink)
	require.NoError(t, err)
	assert.Equal(t, testRecord+"\n"+testRecord+"\n", string(b))
}

// Every hostile reporter comes back as an error the operational log can
// carry, within its timeout, and the host can go on delivering.
func TestHostileReportersFailCleanly(t *testing.T) {
	for mode, want := range map[string]string{
		"fail": "reporter test-reporter: the site endpoint said no",
		"loop": "reporter timeout of 2s exceeded; the guest was stopped",
		"bomb": "out of memory",
		"huge": "fgr_report answered",
		"deny": `exec "forbidden" denied: "forbidden" is not in reporting.reporters.test-reporter.allow`,
	} {
		t.Run(mode, func(t *testing.T) {
			cfg, sink := reporterConfig(t, mode)
			if mode == "huge" { // room to build the answer the host refuses
				st := cfg.Reporting.Reporters["test-reporter"]
				st.MemoryLimit = 64 << 20
				cfg.Reporting.Reporters["test-reporter"] = st
			}
			r := NewReporters(cfg, nil)
			defer r.Close(context.Background())
			start := time.Now()
			err := r.Report(context.Background(), "test-reporter", []byte(testRecord))
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
			assert.Less(t, time.Since(start), 30*time.Second)
			_, serr := os.Stat(sink)
			assert.ErrorIs(t, serr, os.ErrNotExist, "nothing delivered")
		})
	}
}

// One module serves a strategy and a reporter; a module without
// fgr_report is no reporter.
func TestModuleServesBothKinds(t *testing.T) {
	cfg, _ := reporterConfig(t, "deliver")
	addStrategy(cfg, "reporter-strategy", reporterGuest(t), nil)
	src := NewSource(cfg, nil)
	defer src.Close(context.Background())
	st, err := src.Strategy(context.Background(), "reporter-strategy")
	require.NoError(t, err)
	a := st.Discover(context.Background(), discovery.Target{Node: "compute-node-3", Action: "off"})
	assert.Equal(t, []string{"from-the-reporter-module"}, a.Filesystems)

	statuses := InspectReporters(context.Background(), cfg)
	require.Len(t, statuses, 1)
	assert.NoError(t, statuses[0].Err)

	needWAT(t)
	cfg.Reporting.Reporters["test-reporter"] = config.Strategy{File: guest("answer"), Timeout: time.Second, MemoryLimit: 16 << 20}
	statuses = InspectReporters(context.Background(), cfg)
	require.Len(t, statuses, 1)
	require.Error(t, statuses[0].Err)
	assert.Contains(t, statuses[0].Err.Error(), `missing export "fgr_report"`)
}

// A strategy-only SDK module exports fgr_report (the SDK always does) but
// serves no reporter: it is refused as one.
func TestStrategyModuleIsNoReporter(t *testing.T) {
	cfg, _ := reporterConfig(t, "deliver")
	_, err := InspectReporterFile(context.Background(), cfg, "tester", guest("tester"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "serves no reporter")
	got, err := InspectReporterFile(context.Background(), cfg, "reporter", reporterGuest(t))
	require.NoError(t, err)
	assert.Equal(t, []string{"test-reporter"}, got)
}
