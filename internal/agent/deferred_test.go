package agent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
)

// deferredHarness is a harness in deferred mode whose Detach hands the job
// to a second Agent run in-process, as the detached process would get it
// (the re-exec itself is tested through the binary in cmd/).
func deferredHarness(t *testing.T) (*harness, *[][]byte) {
	h := newHarness(t, "")
	yaml := "log_dir: " + h.logDir + "\ncache_dir: \"\"\ndiscovery:\n  mode: deferred\n"
	require.NoError(t, os.WriteFile(h.cfgFile, []byte(yaml), 0o600))
	var jobs [][]byte
	h.agent.Detach = func(job []byte, environ []string) error {
		jobs = append(jobs, job)
		assert.Equal(t, h.agent.Environ, environ, "the child gets the agent's environment (commands pass variables through)")
		return nil
	}
	return h, &jobs
}

// finish runs the detached side for one job, with the harness's seams.
func (h *harness) finish(job []byte) int {
	child := *h.agent
	child.Stdin = bytes.NewReader(job)
	child.Detach = func([]byte, []string) error { panic("the detached process must not detach again") }
	return child.Run(context.Background(), []string{DeferredSubcommand})
}

func TestDeferredRecordsPendingThenCompleteWithTheSameEventID(t *testing.T) {
	h, jobs := deferredHarness(t)
	require.Equal(t, 0, h.stdin("nodename=compute-node-4\naction=off\n"))

	evs := h.records()
	require.Len(t, evs, 1, "only the pending record before the detached process runs")
	assert.Equal(t, StatePending, evs[0].Discovery.State)
	assert.Equal(t, []string{DiscoveryPending}, evs[0].GFS2Filesystems)
	assert.Empty(t, h.src.asked, "the fence path runs no strategy")
	require.Len(t, *jobs, 1)

	require.Equal(t, 0, h.finish((*jobs)[0]))
	evs = h.records()
	require.Len(t, evs, 2)
	first, second := evs[0], evs[1]
	assert.Equal(t, first.EventID, second.EventID)
	assert.Equal(t, first.Timestamp, second.Timestamp, "the second record describes the same event")
	assert.Equal(t, "off", second.Action)
	assert.Equal(t, "compute-node-4", second.TargetNode)
	assert.Equal(t, "rabbit-node-1", second.RecorderNode)
	assert.Equal(t, StateComplete, second.Discovery.State)
	assert.Equal(t, []string{"sharedfs", "scratch"}, second.GFS2Filesystems)
	assert.Equal(t, config.StrategyPcsStatus, second.Discovery.Strategy)
	assert.Equal(t, []string{"compute-node-4", "compute-node-4"}, h.src.targets)

	rl, err := os.ReadFile(filepath.Join(h.logDir, record.ReadableFile))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(rl), "\n"), "\n")
	require.Len(t, lines, 2, "a readable line for each record")
	assert.Contains(t, lines[0], `GFS2=["discovery-pending"]`)
	assert.Contains(t, lines[1], `GFS2=["sharedfs","scratch"]`)
	op, err := os.ReadFile(filepath.Join(h.logDir, record.OperationalFile))
	require.NoError(t, err)
	assert.Contains(t, string(op), "deferred discovery started")
	assert.Contains(t, string(op), "deferred=true")
}

// Stdin options (log_dir here) reach the detached process through the job:
// it has no stdin of fenced to read them from.
func TestDeferredJobCarriesStdinOptions(t *testing.T) {
	h, jobs := deferredHarness(t)
	other := filepath.Join(t.TempDir(), "from-stdin")
	require.Equal(t, 0, h.stdin("nodename=compute-node-3\naction=reboot\nlog_dir="+other+"\n"))
	require.Len(t, *jobs, 1)
	require.Equal(t, 0, h.finish((*jobs)[0]))
	evs := readRecords(t, other)
	require.Len(t, evs, 2)
	assert.Equal(t, StateComplete, evs[1].Discovery.State)
	assert.Nil(t, h.records())
}

func TestDeferredFailedWhenNoStrategyAnswers(t *testing.T) {
	h, jobs := deferredHarness(t)
	h.src.answers = map[string][]string{} // every strategy: load error
	require.Equal(t, 0, h.stdin("nodename=compute-node-3\naction=reboot\n"))
	require.Equal(t, 0, h.finish((*jobs)[0]))
	evs := h.records()
	require.Len(t, evs, 2)
	assert.Equal(t, StateFailed, evs[1].Discovery.State)
	assert.Equal(t, []string{discovery.NoneDetected}, evs[1].GFS2Filesystems)
}

// If the detached process cannot start, discovery runs inline and the
// second record is still written, before the agent exits.
func TestDeferredFallsBackInlineWhenDetachFails(t *testing.T) {
	h, _ := deferredHarness(t)
	h.agent.Detach = func([]byte, []string) error { return errors.New("fork: resource temporarily unavailable") }
	require.Equal(t, 0, h.stdin("nodename=compute-node-4\naction=on\n"))
	evs := h.records()
	require.Len(t, evs, 2)
	assert.Equal(t, evs[0].EventID, evs[1].EventID)
	assert.Equal(t, StatePending, evs[0].Discovery.State)
	assert.Equal(t, StateComplete, evs[1].Discovery.State)
	assert.Contains(t, h.stderr.String(), "discovering inline")
}

// Nothing to defer: no discovery, or a target no strategy may see. One
// record, as inline.
func TestDeferredNotUsedWithoutDiscovery(t *testing.T) {
	h, jobs := deferredHarness(t)
	require.Equal(t, 0, h.stdin("nodename=compute-node-4\naction=off\ngfs2_discovery=0\n"))
	require.Equal(t, 0, h.stdin("nodename=bad/name\naction=off\n"))
	assert.Empty(t, *jobs)
	evs := h.records()
	require.Len(t, evs, 2)
	assert.Equal(t, []string{discovery.DiscoveryDisabled}, evs[0].GFS2Filesystems)
	assert.Equal(t, []string{discovery.NoneDetected}, evs[1].GFS2Filesystems)
	assert.Empty(t, evs[1].Discovery.State)
}

func TestDeferredSubcommandRejectsBadJobs(t *testing.T) {
	h, _ := deferredHarness(t)
	for _, job := range []string{"", "not json", `{"config":{},"event":null}`, `{"config":{"LogDir":""},"event":{"event_id":"x"}}`,
		`{"config":{"LogDir":"/tmp"},"event":{"event_id":""}}`, strings.Repeat(" ", maxJobBytes+1)} {
		h.stderr.Reset()
		assert.Equal(t, ExitGenericError, h.finish([]byte(job)), "job %.40q", job)
		assert.Contains(t, h.stderr.String(), DeferredSubcommand)
	}
	assert.Nil(t, h.records())
}
