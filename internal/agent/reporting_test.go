package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jobPipe is the delivery process's stdin as the agent sees it.
type jobPipe struct {
	bytes.Buffer
	closed bool
}

func (p *jobPipe) Close() error { p.closed = true; return nil }

func reportingHarness(t *testing.T) (*harness, string) {
	h := newHarness(t, "")
	spool := filepath.Join(t.TempDir(), "spool")
	b, err := os.ReadFile(h.cfgFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(h.cfgFile, append(b, []byte("reporting: {order: [k8s-event], spool_dir: "+spool+"}\n")...), 0o600))
	return h, spool
}

// A fence spools its record and hands the delivery process, started
// before discovery, the effective configuration.
func TestFenceSpoolsTheRecordAndHandsTheJob(t *testing.T) {
	h, spool := reportingHarness(t)
	var pipes []*jobPipe
	var spawnedBeforeDiscovery bool
	h.agent.SpawnDelivery = func([]string) (io.WriteCloser, error) {
		spawnedBeforeDiscovery = len(h.src.asked) == 0
		p := &jobPipe{}
		pipes = append(pipes, p)
		return p, nil
	}
	require.Equal(t, ExitOK, h.stdin("action=off\nnodename=compute-node-3\n"))
	require.Len(t, pipes, 1)
	assert.True(t, spawnedBeforeDiscovery)
	assert.True(t, pipes[0].closed, "the job is handed whole")
	var job deliverJob
	require.NoError(t, json.Unmarshal(pipes[0].Bytes(), &job))
	assert.Equal(t, h.logDir, job.Config.LogDir)
	assert.Equal(t, spool, job.Config.Reporting.SpoolDir)

	recs := h.records()
	require.Len(t, recs, 1)
	entries, err := os.ReadDir(filepath.Join(spool, "incoming"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.True(t, strings.HasSuffix(entries[0].Name(), "-"+recs[0].EventID+".json"))
	b, err := os.ReadFile(filepath.Join(spool, "incoming", entries[0].Name()))
	require.NoError(t, err)
	line, err := os.ReadFile(filepath.Join(h.logDir, "fence-events-detailed.jsonl"))
	require.NoError(t, err)
	assert.JSONEq(t, string(line), string(b), "the spooled record is the audit record")
}

// Reporting that cannot start, or a spool that cannot be written, never
// changes the fence: exit 0, the record written, an error logged.
func TestReportingFailuresNeverFailTheFence(t *testing.T) {
	h, spool := reportingHarness(t)
	h.agent.SpawnDelivery = func([]string) (io.WriteCloser, error) {
		return nil, errors.New("fork: resource temporarily unavailable")
	}
	require.NoError(t, os.WriteFile(spool, []byte("a file where the spool should be"), 0o600))
	require.Equal(t, ExitOK, h.stdin("action=reboot\nnodename=compute-node-3\n"))
	assert.Len(t, h.records(), 1)
	assert.Contains(t, h.stderr.String(), "could not start the delivery process")
	assert.Contains(t, h.stderr.String(), "record not queued for the reporters")
}

func TestNoReportingNoProcess(t *testing.T) {
	h := newHarness(t, "")
	h.agent.SpawnDelivery = func([]string) (io.WriteCloser, error) {
		t.Fatal("started a delivery with reporting off")
		return nil, nil
	}
	require.Equal(t, ExitOK, h.stdin("action=off\nnodename=compute-node-3\n"))
	assert.Len(t, h.records(), 1)
}

// The delivery process started ahead of a record that never came reads
// end of file and exits quietly.
func TestDeliveryWithoutAJobExits(t *testing.T) {
	a := &Agent{Stdin: strings.NewReader("")}
	assert.Equal(t, ExitOK, a.Run(context.Background(), []string{DeliverSubcommand}))
	var stderr bytes.Buffer
	a = &Agent{Stdin: strings.NewReader("{not json"), Stderr: &stderr}
	assert.Equal(t, ExitGenericError, a.Run(context.Background(), []string{DeliverSubcommand}))
	assert.Contains(t, stderr.String(), DeliverSubcommand)
}
