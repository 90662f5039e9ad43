package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/metrics"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
)

// reportingEnv is an agent whose records go to the k8s-event reporter,
// whose kubectl talks to a loopback API server.
type reportingEnv struct {
	*env
	server     *fakekube.Server
	kubeconfig string
	spool      string
}

func newReportingEnv(t *testing.T, reporterTimeout string) *reportingEnv {
	if pluginsErr != nil {
		t.Skipf("built-in module did not build: %v", pluginsErr)
	}
	if _, err := os.Stat("/usr/bin/kubectl"); err != nil {
		t.Skip("SKIPPED: /usr/bin/kubectl not installed: install the kubectl package")
	}
	s, err := fakekube.Start(fakekube.Options{})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	dir := t.TempDir()
	kc, err := s.WriteKubeconfig(dir)
	require.NoError(t, err)
	spool := filepath.Join(dir, "spool")
	e := newEnv(t, fmt.Sprintf(`builtin_dir: %s
recorder_node: rabbit-node-1
discovery:
  enabled: false
reporting:
  order: [k8s-event]
  spool_dir: %s
  backoff_min: 1ms
  backoff_max: 1ms
  reporters:
    k8s-event:
      timeout: %s
      config:
        kubeconfig: %s
        cache_dir: %s
        request_timeout: 2s
`, pluginsDir, spool, reporterTimeout, kc, filepath.Join(dir, "kube-cache")))
	return &reportingEnv{env: e, server: s, kubeconfig: kc, spool: spool}
}

func (r *reportingEnv) fence(node string) {
	r.t.Helper()
	code, _, stderr := r.run("nodename=" + node + "\naction=off\n")
	require.Equal(r.t, 0, code, stderr)
}

// queued is how many records wait for k8s-event, incoming ones included.
func (r *reportingEnv) queued() int {
	n := 0
	for _, d := range []string{"incoming", "k8s-event"} {
		des, _ := os.ReadDir(filepath.Join(r.spool, d))
		for _, de := range des {
			if strings.HasSuffix(de.Name(), ".json") && !strings.HasPrefix(de.Name(), ".") && de.Name() != "state.json" {
				n++
			}
		}
	}
	return n
}

func (r *reportingEnv) oplog() string {
	return readFile(r.t, filepath.Join(r.logDir, record.OperationalFile))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func eventNames(s *fakekube.Server) []string {
	var out []string
	for _, raw := range s.Events() {
		var ev struct{ Metadata struct{ Name string } }
		_ = json.Unmarshal(raw, &ev)
		out = append(out, ev.Metadata.Name)
	}
	return out
}

// The real kubectl, through the built agent and its detached delivery
// process: one Event per record, checked field by field against the
// record; a 403, a hang and a refused connection each leave the record in
// the spool, and the next run delivers it exactly once.
func TestK8sEventReporterAtLeastOnce(t *testing.T) {
	r := newReportingEnv(t, "4s")
	r.fence("compute-node-3")
	waitFor(t, "the first Event", func() bool { return len(r.server.Events()) == 1 && r.queued() == 0 })
	recs := r.records()
	require.Len(t, recs, 1)
	var ev struct {
		Metadata struct {
			Name        string
			Namespace   string
			Annotations map[string]string
		}
		InvolvedObject                struct{ Kind, Namespace, Name, UID string }
		Reason, Type, Action, Message string
	}
	require.NoError(t, json.Unmarshal(r.server.Events()[0], &ev))
	assert.Equal(t, "fence-"+recs[0].EventID, ev.Metadata.Name)
	assert.Equal(t, "default", ev.Metadata.Namespace)
	assert.Equal(t, recs[0].EventID, ev.Metadata.Annotations["fence-recorder.nearnodeflash.github.io/event-id"])
	assert.Equal(t, "compute-node-3", ev.Metadata.Annotations["fence-recorder.nearnodeflash.github.io/target-node"])
	assert.Equal(t, "rabbit-node-1", ev.Metadata.Annotations["fence-recorder.nearnodeflash.github.io/rabbit"])
	assert.Equal(t, `["discovery-disabled"]`, ev.Metadata.Annotations["fence-recorder.nearnodeflash.github.io/gfs2-filesystems"])
	assert.Equal(t, "off", ev.Metadata.Annotations["fence-recorder.nearnodeflash.github.io/action"])
	assert.Equal(t, "Storage", ev.InvolvedObject.Kind)
	assert.Equal(t, "rabbit-node-1", ev.InvolvedObject.Name)
	assert.Equal(t, "7f3f5044-7898-4da8-a4e0-519018e4737d", ev.InvolvedObject.UID)
	assert.Equal(t, "ComputeFenced", ev.Reason)
	assert.Equal(t, "Warning", ev.Type)
	assert.Equal(t, "off", ev.Action)
	assert.Contains(t, ev.Message, "Fence action off of compute-node-3 recorded by rabbit-node-1")
	assert.NotContains(t, r.oplog(), "report not delivered", "success says nothing new")

	failures := 0
	for _, mode := range []string{"403", "hang", "refused"} {
		before := len(r.server.Events())
		switch mode {
		case "403":
			r.server.Inject(fakekube.Fault{Resource: "events", Status: http.StatusForbidden})
		case "hang":
			r.server.Inject(fakekube.Fault{Resource: "events", Hang: true})
		case "refused":
			url, err := fakekube.RefusingURL()
			require.NoError(t, err)
			require.NoError(t, fakekube.WriteKubeconfig(r.kubeconfig, url, r.server.Token(), r.server.CACertPEM()))
		}
		r.fence("compute-node-4")
		failures++
		waitFor(t, mode+": the failed delivery", func() bool {
			return strings.Count(r.oplog(), "report not delivered") == failures
		})
		assert.Equal(t, 1, r.queued(), "%s: the record stays in the spool", mode)
		assert.Len(t, r.server.Events(), before, mode)

		r.server.ClearFaults()
		_, err := r.server.WriteKubeconfig(filepath.Dir(r.kubeconfig))
		require.NoError(t, err)
		r.fence("compute-node-5")
		waitFor(t, mode+": the next run delivers both", func() bool { return r.queued() == 0 && len(r.server.Events()) == before+2 })
	}
	names := eventNames(r.server)
	require.Len(t, names, 7)
	seen := map[string]bool{}
	for _, n := range names {
		assert.False(t, seen[n], "delivered twice: %s", n)
		seen[n] = true
	}
	recs = r.records()
	require.Len(t, recs, 7, "reporting never writes the audit trail")
	for _, rec := range recs {
		assert.True(t, seen["fence-"+rec.EventID], "record %s has its Event", rec.EventID)
	}
}

// A hostile reporter (loop, memory bomb, huge answer, denied exec) never
// delays the fence and never touches the audit trail: the agent returns
// while the reporter still runs in the detached process.
func TestHostileReporterNeverDelaysTheFence(t *testing.T) {
	if pluginsErr != nil {
		t.Skipf("built-in module did not build: %v", pluginsErr)
	}
	reporter := filepath.Join(t.TempDir(), "plugins", "reporter.wasm")
	buildGuest(t, "../../host/testdata/guests/reporter", reporter)
	for _, mode := range []string{"loop", "bomb", "huge", "deny"} {
		t.Run(mode, func(t *testing.T) {
			spool := filepath.Join(t.TempDir(), "spool")
			e := newEnv(t, fmt.Sprintf(`discovery:
  enabled: false
reporting:
  order: [test-reporter]
  spool_dir: %s
  reporters:
    test-reporter:
      file: %s
      timeout: 5s
      memory_limit: 32MiB
      config: {mode: %s}
`, spool, reporter, mode))
			start := time.Now()
			code, _, stderr := e.run("nodename=compute-node-3\naction=reboot\n")
			took := time.Since(start)
			require.Equal(t, 0, code, stderr)
			if mode == "loop" {
				assert.Less(t, took, 4*time.Second, "the fence returned while the reporter looped")
			}
			before := readFile(t, filepath.Join(e.logDir, record.DetailedFile))
			waitFor(t, "the reporter's failure", func() bool {
				return strings.Contains(readFile(t, filepath.Join(e.logDir, record.OperationalFile)), "report not delivered")
			})
			assert.Equal(t, before, readFile(t, filepath.Join(e.logDir, record.DetailedFile)), "the audit trail is untouched")
			assert.Len(t, e.records(), 1)
		})
	}
}

func buildGuest(t *testing.T, pkg, out string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	require.NoError(t, os.Chmod(out, 0o644))
}

// 64 concurrent agents leave a textfile, read by Prometheus's own parser,
// whose counters add up to 64.
func TestMetricsTextfileOf64ConcurrentAgents(t *testing.T) {
	textfiles := filepath.Join(t.TempDir(), "textfile")
	e := newEnv(t, "discovery:\n  enabled: false\nmetrics:\n  textfile_dir: "+textfiles+"\n")
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, stderr := e.run(fmt.Sprintf("nodename=compute-node-%d\naction=%s\n", i%8, []string{"off", "on", "reboot"}[i%3]))
			assert.Equal(t, 0, code, stderr)
		}()
	}
	wg.Wait()
	f, err := os.Open(filepath.Join(textfiles, metrics.FileName))
	require.NoError(t, err)
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(f)
	require.NoError(t, err)
	total := 0.0
	for _, m := range fams[metrics.FenceEvents].GetMetric() {
		total += m.GetCounter().GetValue()
	}
	assert.Equal(t, 64.0, total)
	assert.Len(t, fams[metrics.LastFence].GetMetric(), 8, "one per target")
	assert.Equal(t, uint64(64), fams[metrics.FenceWait].GetMetric()[0].GetSummary().GetSampleCount())
	assert.Len(t, e.records(), 64)
}

// monitor fails on an old backlog and, when records wait, starts a
// delivery: retries happen without another fence. `plugins list` shows the
// reporter with its backlog and last error.
func TestMonitorAndPluginsListShowTheBacklog(t *testing.T) {
	r := newReportingEnv(t, "4s")
	r.server.Inject(fakekube.Fault{Resource: "events", Status: http.StatusForbidden})
	r.fence("compute-node-3")
	waitFor(t, "the failed delivery", func() bool { return strings.Contains(r.oplog(), "report not delivered") })

	code, out, stderr := r.run("", "plugins", "list")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `1\s+k8s-event\s+verified\s+1\s+\d+s`, out)
	assert.Contains(t, out, "k8s-event: last delivery failed (1 in a row")
	assert.Contains(t, out, "forbidden")

	r.extra = append(r.extra, "FENCE_GFS2_RECORDER_REPORTING__BACKLOG_ALERT=1ms")
	code, _, stderr = r.run("", "-o", "monitor")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "monitor: report backlog: reporter k8s-event has 1 undelivered records")
	r.extra = r.extra[:len(r.extra)-1]

	// The failing monitor started a delivery too; whichever delivery
	// comes after the fault is gone delivers the record.
	r.server.ClearFaults()
	code, _, stderr = r.run("", "-o", "monitor")
	assert.Equal(t, 0, code, stderr)
	waitFor(t, "the delivery the monitor started", func() bool { return len(r.server.Events()) == 1 && r.queued() == 0 })
}

// Deferred discovery with reporting: the agent spools the pending record
// and starts no second process; the deferred process, after its second
// record, delivers both: a ComputeFenced Event and the
// ComputeFenceDiscoveryCompleted Event with the answer.
func TestDeferredRecordsBothBecomeEvents(t *testing.T) {
	r := newReportingEnv(t, "10s")
	cache := filepath.Join(t.TempDir(), "kube")
	extra := fmt.Sprintf(`discovery:
  enabled: true
  mode: deferred
  order: [kubectl-nnf]
commands:
  kubectl:
    set_env: {KUBECONFIG: %s}
strategies:
  kubectl-nnf:
    config: {cache_dir: %s}
`, r.kubeconfig, cache)
	b, err := os.ReadFile(r.cfg)
	require.NoError(t, err)
	cfg := strings.Replace(string(b), "discovery:\n  enabled: false\n", "", 1) + extra
	require.NoError(t, os.WriteFile(r.cfg, []byte(cfg), 0o600))

	r.fence("compute-node-3")
	waitFor(t, "two Events", func() bool { return len(r.server.Events()) == 2 && r.queued() == 0 })
	recs := r.records()
	require.Len(t, recs, 2)
	var evs [2]struct {
		Metadata struct {
			Name        string
			Annotations map[string]string
		}
		Reason string
	}
	for i, raw := range r.server.Events() {
		require.NoError(t, json.Unmarshal(raw, &evs[i]))
	}
	assert.Equal(t, "fence-"+recs[0].EventID, evs[0].Metadata.Name)
	assert.Equal(t, "ComputeFenced", evs[0].Reason)
	assert.Equal(t, `["discovery-pending"]`, evs[0].Metadata.Annotations["fence-recorder.nearnodeflash.github.io/gfs2-filesystems"])
	assert.Equal(t, "fence-"+recs[0].EventID+"-discovery", evs[1].Metadata.Name)
	assert.Equal(t, "ComputeFenceDiscoveryCompleted", evs[1].Reason)
	fs, err := json.Marshal(recs[1].GFS2Filesystems)
	require.NoError(t, err)
	assert.Equal(t, string(fs), evs[1].Metadata.Annotations["fence-recorder.nearnodeflash.github.io/gfs2-filesystems"])
	assert.Equal(t, "complete", evs[1].Metadata.Annotations["fence-recorder.nearnodeflash.github.io/discovery-state"])
}
