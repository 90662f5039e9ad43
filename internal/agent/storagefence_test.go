package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakesos"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/storagefence"
)

type sfHarness struct {
	*harness
	req, resp string
}

func newSF(t *testing.T) *sfHarness {
	h := newHarness(t, "")
	d := t.TempDir()
	return &sfHarness{harness: h, req: filepath.Join(d, "requests"), resp: filepath.Join(d, "responses")}
}

// stdin as fenced sends it for a device created like NNF's HA guide
// creates fence_recorder, plus the mode switch.
func (s *sfHarness) fence(action, extra string) int {
	return s.stdin("action=" + action + "\nnodename=compute-4\nport=rabbit-compute-4\nnnf_storage_fence=1\n" +
		"request_dir=" + s.req + "\nresponse_dir=" + s.resp + "\n" + extra)
}

func (s *sfHarness) sos(b func(fakesos.Request) fakesos.Answer) *fakesos.Responder {
	return fakesos.StartT(s.t, fakesos.Config{RequestDir: s.req, ResponseDir: s.resp, Behaviour: b})
}

func (s *sfHarness) requestFiles() []string {
	es, err := os.ReadDir(s.req)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(s.t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func (s *sfHarness) readable() string {
	b, err := os.ReadFile(filepath.Join(s.logDir, record.ReadableFile))
	require.NoError(s.t, err)
	return string(b)
}

func TestStorageFenceSuccess(t *testing.T) {
	s := newSF(t)
	sos := s.sos(fakesos.Always(fakesos.Answer{Shape: fakesos.R1, Success: true}))
	require.Equal(t, 0, s.fence("reboot", ""))
	evs := s.records()
	require.Len(t, evs, 1)
	ev := evs[0]
	assert.Equal(t, "fenced", ev.Status)
	assert.Equal(t, "rabbit-compute-4", ev.TargetNode, "port wins: it is the NNF name")
	assert.Equal(t, "compute-4", ev.NodeName, "Pacemaker's name kept when it differs")
	require.NotNil(t, ev.StorageFence)
	sf := ev.StorageFence
	assert.Equal(t, storagefence.OutcomeFenced, sf.Outcome)
	require.NotNil(t, sf.Success)
	assert.True(t, *sf.Success)
	assert.Equal(t, "off", sf.ActionPerformed)
	assert.Equal(t, fakesos.MessageFenced(1), sf.Message)
	assert.NotEmpty(t, sf.RequestID)
	assert.Contains(t, sf.RequestFile, "/rabbit-compute-4-"+sf.RequestID+".json")
	assert.Equal(t, filepath.Join(s.resp, filepath.Base(sf.RequestFile)), sf.ResponseFile)
	assert.Contains(t, ev.Details, "completed by nnf-sos")
	assert.True(t, ev.Discovery.Enabled, "discovery ran beside the wait")
	assert.Contains(t, s.readable(), "STATUS=fenced ")
	require.Len(t, sos.Requests(), 1)
	assert.Equal(t, "reboot", sos.Requests()[0].Action)
	assert.Equal(t, "rabbit-node-1", sos.Requests()[0].RecorderNode)
}

func TestStorageFenceFailureAnswerExits1(t *testing.T) {
	s := newSF(t)
	s.sos(fakesos.Always(fakesos.Answer{Shape: fakesos.R1, Success: false, Message: "Failed to fence node: could not delete any storage groups. Errors: x"}))
	require.Equal(t, 1, s.fence("off", ""))
	ev := s.records()[0]
	assert.Equal(t, "refused", ev.Status)
	assert.Contains(t, ev.Details, "Failed to fence node")
	assert.Contains(t, s.readable(), "STATUS=refused ")
}

// SPEC §7 items 22, 23: no answer by fence_timeout: exit 1, record written,
// request withdrawn.
func TestStorageFenceTimeoutRecordsAndWithdraws(t *testing.T) {
	s := newSF(t)
	s.sos(fakesos.Always(fakesos.Answer{Silent: true}))
	start := time.Now()
	require.Equal(t, 1, s.fence("reboot", "fence_timeout=0.5\n"))
	assert.Less(t, time.Since(start), 20*time.Second)
	ev := s.records()[0]
	assert.Equal(t, "timeout", ev.Status)
	assert.True(t, ev.StorageFence.Withdrawn)
	assert.Nil(t, ev.StorageFence.Success)
	assert.Empty(t, s.requestFiles())
	assert.Contains(t, s.readable(), "STATUS=timeout ")
}

// SPEC §7 item 22: SIGTERM (the context main cancels) records an error.
func TestStorageFenceSIGTERMRecordsError(t *testing.T) {
	s := newSF(t)
	s.sos(fakesos.Always(fakesos.Answer{Silent: true}))
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(300*time.Millisecond, func() { cancel(errors.New("terminated by SIGTERM")) })
	s.agent.Stdin = strings.NewReader("action=off\nport=rabbit-compute-4\nnnf_storage_fence=1\nrequest_dir=" + s.req + "\nresponse_dir=" + s.resp + "\n")
	require.Equal(t, 1, s.agent.Run(ctx, nil))
	ev := s.records()[0]
	assert.Equal(t, "error", ev.Status)
	assert.Contains(t, ev.StorageFence.Error, "SIGTERM")
	assert.Empty(t, s.requestFiles())
}

// SPEC §7 item 14: the rabbit itself, paths, blanks: exit 1, recorded,
// nothing written.
func TestStorageFenceRefusesTargets(t *testing.T) {
	for _, port := range []string{"rabbit-node-1", "../x", ".hidden", "a b"} {
		s := newSF(t)
		code := s.stdin("action=off\nport=" + port + "\nnnf_storage_fence=1\nrequest_dir=" + s.req + "\nresponse_dir=" + s.resp + "\n")
		require.Equal(t, 1, code, port)
		evs := s.records()
		require.Len(t, evs, 1, port)
		assert.Equal(t, "refused", evs[0].Status, port)
		assert.NotEmpty(t, evs[0].TargetNodeProblem)
		assert.Empty(t, s.requestFiles(), port)
	}
	// SPEC §7 item 5: no action means reboot; no target, nothing written.
	s := newSF(t)
	require.Equal(t, 1, s.stdin("nnf_storage_fence=1\nrequest_dir="+s.req+"\n"))
	assert.Equal(t, "refused", s.records()[0].Status, "no target at all")
	assert.Equal(t, "reboot", s.records()[0].Action)
	assert.Empty(t, s.requestFiles())
}

// SPEC §7 item 24 (and 4, 25, 26 for side effects): no action but off and
// reboot writes a request.
func TestStorageFenceOtherActionsWriteNoRequest(t *testing.T) {
	s := newSF(t)
	sos := s.sos(nil)
	for _, action := range []string{"on", "status", "list", "monitor", "metadata", "validate-all"} {
		s.stdout.Reset()
		code := s.fence(action, "")
		assert.Contains(t, []int{0, 2}, code, action)
	}
	assert.Empty(t, s.requestFiles())
	assert.Empty(t, sos.Requests())
	evs := s.records()
	require.Len(t, evs, 1, "on is recorded")
	assert.Equal(t, "on", evs[0].Action)
	assert.Equal(t, StatusOnIgnored, evs[0].Status)
}

// SPEC §7 item 24: status is OFF while a success marker exists; on and
// status touch no marker.
func TestStorageFenceStatusFollowsMarkers(t *testing.T) {
	s := newSF(t)
	s.stdout.Reset()
	require.Equal(t, 0, s.fence("status", ""))
	assert.Equal(t, "Status: ON\n", s.stdout.String())

	s.sos(fakesos.Always(fakesos.Answer{Shape: fakesos.R2, Success: true}))
	require.Equal(t, 0, s.fence("off", ""))
	s.stdout.Reset()
	require.Equal(t, ExitStatusOff, s.fence("status", ""))
	assert.Equal(t, "Status: OFF\n", s.stdout.String())
	require.Equal(t, 0, s.fence("on", ""))
	require.Equal(t, ExitStatusOff, s.fence("status", ""), "on does not unfence")

	s.stdout.Reset()
	s.agent.Stdin = strings.NewReader("")
	require.Equal(t, 0, s.agent.Run(context.Background(), []string{"--response-dir", s.resp, "markers", "--json"}))
	var ms []storagefence.Marker
	require.NoError(t, json.Unmarshal(s.stdout.Bytes(), &ms))
	require.Len(t, ms, 1)
	assert.Equal(t, "rabbit-compute-4", ms[0].Node)

	s.agent.Stdin = strings.NewReader("n\n")
	require.Equal(t, 1, s.agent.Run(context.Background(), []string{"unfence", "rabbit-compute-4", "--response-dir", s.resp, "--request-dir", s.req}))
	require.Equal(t, ExitStatusOff, s.fence("status", ""), "not confirmed: nothing removed")
	s.agent.Stdin = strings.NewReader("y\n")
	require.Equal(t, 0, s.agent.Run(context.Background(), []string{"--response-dir", s.resp, "--request-dir", s.req, "unfence", "rabbit-compute-4"}))
	require.Equal(t, 0, s.fence("status", ""))
}

func TestStorageFenceList(t *testing.T) {
	s := newSF(t)
	s.stdout.Reset()
	require.Equal(t, 0, s.fence("list", ""))
	assert.Equal(t, "rabbit-compute-4\n", s.stdout.String())
	s.stdout.Reset()
	require.Equal(t, 0, s.stdin("action=list\nnnf_storage_fence=1\n"))
	assert.Equal(t, "compute-node-3\ncompute-node-4\n", s.stdout.String(), "the configured hosts without a plug")
}

// Run as fence_recorder, with the HA guide's parameters only, it fences
// through nnf-sos; nnf_storage_fence=0 turns the mode off.
func TestRunAsFenceRecorderIsStorageFence(t *testing.T) {
	s := newSF(t)
	s.agent.Name = "/usr/sbin/fence_recorder"
	sos := s.sos(nil)
	guide := "action=off\nport=rabbit-compute-4\nrequest_dir=" + s.req + "\nresponse_dir=" + s.resp + "\nlog_dir=" + s.logDir + "\n"
	require.Equal(t, 0, s.stdin(guide))
	assert.Len(t, sos.Requests(), 1)
	require.Equal(t, 0, s.stdin(guide+"nnf_storage_fence=0\n"))
	assert.Len(t, sos.Requests(), 1, "recorder mode writes no request")
	evs := s.records()
	require.Len(t, evs, 2)
	assert.Equal(t, "fenced", evs[0].Status)
	assert.Equal(t, record.StatusInitiated, evs[1].Status)
}

// SPEC §7 item 25 and the unanswered-request check.
func TestStorageFenceMonitor(t *testing.T) {
	s := newSF(t)
	s.agent.Now = time.Now
	require.Equal(t, 0, s.fence("monitor", ""), s.stderr.String())
	assert.DirExists(t, s.req, "monitor creates missing directories")
	assert.DirExists(t, s.resp)

	stale := filepath.Join(s.req, "rabbit-compute-2-11111111-1111-4111-8111-111111111111.json")
	require.NoError(t, os.WriteFile(stale, []byte(`{}`), 0o644))
	old := time.Now().Add(-10 * time.Minute)
	require.NoError(t, os.Chtimes(stale, old, old))
	s.stderr.Reset()
	require.Equal(t, 1, s.fence("monitor", ""))
	assert.Contains(t, s.stderr.String(), stale)
	assert.Contains(t, s.stderr.String(), "unanswered for 10m")
	assert.FileExists(t, stale, "monitor removes nothing")
}

// SPEC §7 item 21: a bad FENCE_TIMEOUT warns in the record and the default
// is used; the fence still happens.
func TestStorageFenceBadEnvWarnsInRecord(t *testing.T) {
	s := newSF(t)
	s.agent.Environ = append(s.agent.Environ, "FENCE_TIMEOUT=soon", "POLL_INTERVAL=-1")
	s.sos(nil)
	require.Equal(t, 0, s.fence("off", ""))
	ev := s.records()[0]
	assert.Equal(t, "fenced", ev.Status)
	require.Len(t, ev.ConfigWarnings, 2)
	assert.Contains(t, strings.Join(ev.ConfigWarnings, "\n"), "FENCE_TIMEOUT")
	assert.Empty(t, ev.ConfigError)
}

// SPEC §7 items 2, 3: fence-agents' argv spellings, '-' and '_' alike.
func TestStorageFenceArgv(t *testing.T) {
	s := newSF(t)
	sos := s.sos(nil)
	require.Equal(t, 0, s.argv("--nnf-storage-fence", "-o", "off", "-n", "rabbit-compute-4", "--request_dir", s.req,
		"--response-dir="+s.resp, "--log-dir", s.logDir, "--delay", "0", "-v", "-q", "-D", "/dev/null", "--fence-timeout", "5s"))
	assert.Len(t, sos.Requests(), 1)
	assert.Equal(t, "fenced", s.records()[0].Status)
	require.Equal(t, 0, s.stdin("action=off\nport=rabbit-compute-4\nnnf-storage-fence=1\nrequest-dir="+s.req+
		"\nresponse-dir="+s.resp+"\nnodeid=3\ndebug=1\n"))
	assert.Len(t, s.records(), 2)
	assert.Equal(t, "fenced", s.records()[1].Status)
	assert.Contains(t, strings.Join(s.records()[1].InputWarnings, "\n"), "nodeid", "unknown keys only warn")
}

// SPEC §7 item 7: a directory that cannot be created fails the fence,
// recorded.
func TestStorageFenceUncreatableDirectory(t *testing.T) {
	s := newSF(t)
	file := filepath.Join(t.TempDir(), "plain-file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	require.Equal(t, 1, s.stdin("action=off\nport=rabbit-compute-4\nnnf_storage_fence=1\nrequest_dir="+file+"/requests\nresponse_dir="+s.resp+"\n"))
	ev := s.records()[0]
	assert.Equal(t, "error", ev.Status)
	assert.Contains(t, ev.StorageFence.Error, "not a directory")
}

// SPEC §7 item 26: validate-all checks the parameters, the port included.
func TestStorageFenceValidateAll(t *testing.T) {
	s := newSF(t)
	require.Equal(t, 0, s.fence("validate-all", ""))
	require.Equal(t, 1, s.stdin("action=validate-all\nport=rabbit-node-1\nnnf_storage_fence=1\n"), "the rabbit itself")
	assert.Contains(t, s.stderr.String(), "rabbit's own GFS2 storage")
	require.Equal(t, 1, s.stdin("action=validate-all\nport=c1\nnnf_storage_fence=1\nfence_timeout=0\n"))
	assert.Empty(t, s.requestFiles())
}

// SPEC §7 item 28: a log directory that cannot take the record does not
// change the fence's exit code; the record goes to stderr and syslog.
func TestStorageFenceUnwritableLogKeepsExitCode(t *testing.T) {
	s := newSF(t)
	s.sos(nil)
	notADir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notADir, nil, 0o644))
	require.Equal(t, 0, s.fence("off", "log_dir="+notADir+"/logs\n"))
	require.NotEmpty(t, s.syslog)
	assert.Contains(t, s.syslog[0], `"status":"fenced"`)
}

// A mode switch that does not parse never leaves a recorder that succeeds
// without fencing: the fence goes to nnf-sos, and the bad value is recorded.
func TestStorageFenceUnparsableSwitchFencesForReal(t *testing.T) {
	s := newSF(t)
	sos := s.sos(nil)
	require.Equal(t, 0, s.stdin("action=off\nport=rabbit-compute-4\nnnf_storage_fence=ture\nrequest_dir="+s.req+"\nresponse_dir="+s.resp+"\n"))
	assert.Len(t, sos.Requests(), 1)
	ev := s.records()[0]
	assert.Equal(t, "fenced", ev.Status)
	assert.Contains(t, ev.ConfigError, "nnf_storage_fence")
}

// The metrics textfile counts storage fences by outcome and prices the
// wait for nnf-sos's answer.
func TestStorageFenceOutcomesAreCounted(t *testing.T) {
	s := newSF(t)
	metricsDir := t.TempDir()
	require.NoError(t, os.WriteFile(s.cfgFile, []byte("log_dir: "+s.logDir+"\ncache_dir: \"\"\nmetrics:\n  textfile_dir: "+metricsDir+"\n"), 0o600))
	sos := s.sos(fakesos.PerTarget(map[string]fakesos.Answer{
		"rabbit-compute-4": {Shape: fakesos.R1, Success: true},
	}, fakesos.Answer{Shape: fakesos.R2, Success: false, Message: "no"}))
	require.Equal(t, 0, s.fence("reboot", ""))
	require.Equal(t, 0, s.fence("off", ""))
	require.Equal(t, 1, s.stdin("action=off\nport=rabbit-compute-5\nnnf_storage_fence=1\nrequest_dir="+s.req+"\nresponse_dir="+s.resp+"\n"))
	require.Len(t, sos.Requests(), 3)

	b, err := os.ReadFile(filepath.Join(metricsDir, "fence_gfs2_recorder.prom"))
	require.NoError(t, err)
	text := string(b)
	assert.Contains(t, text, `fence_gfs2_recorder_storage_fences_total{action="reboot",outcome="fenced"} 1`)
	assert.Contains(t, text, `fence_gfs2_recorder_storage_fences_total{action="off",outcome="fenced"} 1`)
	assert.Contains(t, text, `fence_gfs2_recorder_storage_fences_total{action="off",outcome="refused"} 1`)
	assert.Contains(t, text, "fence_gfs2_recorder_storage_fence_answer_seconds_count 3")
}

// An answer that comes after the fence wait has passed finds discovery
// long finished: its report is the record's, one record per fence, every
// time (both the chain's end and the bound are then ready at once).
func TestStorageFenceAnswerAfterTheFenceWaitTakesTheFinishedChain(t *testing.T) {
	s := newSF(t)
	require.NoError(t, os.WriteFile(s.cfgFile, []byte("log_dir: "+s.logDir+"\ncache_dir: \"\"\ndiscovery:\n  fence_wait: 50ms\n"), 0o600))
	s.sos(fakesos.Always(fakesos.Answer{Shape: fakesos.R1, Success: true, Delay: 150 * time.Millisecond}))
	const fences = 10
	for range fences {
		require.Equal(t, 0, s.fence("off", ""))
	}
	evs := s.records()
	require.Len(t, evs, fences, "no partial records, no completion records")
	for _, ev := range evs {
		assert.Empty(t, ev.Discovery.State)
		assert.Equal(t, []string{"sharedfs", "scratch"}, ev.GFS2Filesystems)
	}
}

// With reporters configured, a storage fence starts its delivery process
// only once the request is out (nothing may come before it), spools the
// record, and hands the job; a target refused before any request is
// delivered too.
func TestStorageFenceDeliversAfterPublishing(t *testing.T) {
	s := newSF(t)
	spool := filepath.Join(t.TempDir(), "spool")
	require.NoError(t, os.WriteFile(s.cfgFile, []byte("log_dir: "+s.logDir+"\ncache_dir: \"\"\nreporting: {order: [k8s-event], spool_dir: "+spool+"}\n"), 0o600))
	var pipes []*jobPipe
	var requestsAtSpawn []int
	s.agent.SpawnDelivery = func([]string) (io.WriteCloser, error) {
		requestsAtSpawn = append(requestsAtSpawn, len(s.requestFiles()))
		p := &jobPipe{}
		pipes = append(pipes, p)
		return p, nil
	}
	s.sos(fakesos.Always(fakesos.Answer{Shape: fakesos.R1, Success: true, Delay: 50 * time.Millisecond}))
	require.Equal(t, 0, s.fence("off", ""))
	require.Equal(t, 1, s.stdin("action=off\nport=.hidden\nnnf_storage_fence=1\nrequest_dir="+s.req+"\nresponse_dir="+s.resp+"\n"))

	require.Len(t, pipes, 2)
	assert.Equal(t, 1, requestsAtSpawn[0], "the request was published before the delivery process started")
	for _, p := range pipes {
		assert.True(t, p.closed, "the job is handed whole")
	}
	entries, err := os.ReadDir(filepath.Join(spool, "incoming"))
	require.NoError(t, err)
	assert.Len(t, entries, 2, "both records are queued for the reporters")
}
