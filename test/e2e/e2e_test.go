package e2e

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record/recordtest"
	"github.com/NearNodeFlash/fence-gfs2-recorder/test/harness"
)

// Where a package install puts the agent and its built-in strategies; the
// runtime finds the strategies at <exe dir>/../lib/fence_gfs2_recorder/plugins.
const (
	agentPath    = "/usr/sbin/fence_gfs2_recorder"
	builtinDir   = "/usr/lib/fence_gfs2_recorder/plugins"
	target       = "compute-node-3" // level 1: recorder, realfence
	plainTarget  = "compute-node-6" // level 1: realfence (baseline: no recorder)
	pairTarget   = "compute-node-7" // level 1: realfence, realfence2 (baseline: two devices, no recorder)
	brokenTarget = "compute-node-8" // level 1: recorder, brokenfence (always fails)
	cibTarget    = "compute-node-9" // level 1: recorder, realfence; unknown to NNF, configured in the CIB
	labNode      = "rabbit-node-1"  // the lab cluster's only member (scripts/pacemaker-lab/up.sh)
	monitorEvery = 5 * time.Second
)

// build is the agent under test, made by TestMain.
var build harness.Build

func TestMain(m *testing.M) { harness.Main(m, &build, "") }

// lab is one configured cluster; see the target constants for its levels.
type lab struct {
	tmp      string
	logDir   string
	config   string
	kube     *fakekube.Server
	hostname string
}

func setupLab(tb testing.TB) *lab {
	tb.Helper()
	claimLab(tb)
	start := time.Now()

	l := &lab{tmp: tb.TempDir()}
	l.logDir = filepath.Join(l.tmp, "log")
	host, err := os.Hostname()
	require.NoError(tb, err)
	l.hostname = host

	installAgent(tb, true)

	// The loopback API server holds the NNF example system; the real kubectl
	// reaches it through the kubeconfig named in the recorder's config file.
	if _, err := exec.LookPath("kubectl"); err != nil {
		tb.Fatalf("kubectl is needed for the kubectl-nnf strategy: %v", err)
	}
	l.kube, err = fakekube.Start(fakekube.Options{})
	require.NoError(tb, err)
	tb.Cleanup(l.kube.Close)
	kubeconfig, err := l.kube.WriteKubeconfig(l.tmp)
	require.NoError(tb, err)
	l.config = filepath.Join(l.tmp, "config.yaml")
	require.NoError(tb, os.WriteFile(l.config, []byte(fmt.Sprintf(`# e2e: written by test/e2e
cache_dir: %s
strategies:
  kubectl-nnf:
    config:
      kubeconfig: %s
      cache_dir: %s
      request_timeout: 4s
`, filepath.Join(l.tmp, "wasm-cache"), kubeconfig, filepath.Join(l.tmp, "kube-cache"))), 0o644))

	startCluster(tb, build.Root)

	// The devices, exactly as docs/PACEMAKER.md tells a site to configure them.
	must(tb, "pcs", "stonith", "create", "realfence", "fence_dummy",
		"pcmk_host_list="+target+" "+plainTarget+" "+pairTarget+" "+cibTarget)
	must(tb, "pcs", "stonith", "create", "realfence2", "fence_dummy", "pcmk_host_list="+pairTarget)
	// type=fail: off and on never succeed (under fenced it waits for a power
	// state that never comes); pcmk_off_timeout=3 makes fenced give up after
	// 3 s instead of 60. Its monitor succeeds, so the device is Started.
	must(tb, "pcs", "stonith", "create", "brokenfence", "fence_dummy", "type=fail",
		"pcmk_off_timeout=3", "pcmk_host_list="+brokenTarget)
	must(tb, "pcs", "stonith", "create", "recorder", "fence_gfs2_recorder",
		"log_dir="+l.logDir, "config_file="+l.config, "verbose=1",
		"pcmk_host_list="+target+" "+brokenTarget+" "+cibTarget,
		"op", "monitor", fmt.Sprintf("interval=%ds", int(monitorEvery/time.Second)), "--disabled")
	// Disabled until its levels exist: the pairing safety check fails the
	// monitor of any recorder that is in no level (docs/PACEMAKER.md).
	must(tb, "pcs", "stonith", "level", "add", "1", target, "recorder", "realfence", "--force")
	must(tb, "pcs", "stonith", "level", "add", "1", plainTarget, "realfence", "--force")
	must(tb, "pcs", "stonith", "level", "add", "1", pairTarget, "realfence", "realfence2", "--force")
	must(tb, "pcs", "stonith", "level", "add", "1", brokenTarget, "recorder", "brokenfence", "--force")
	must(tb, "pcs", "stonith", "level", "add", "1", cibTarget, "recorder", "realfence", "--force")
	must(tb, "pcs", "stonith", "enable", "recorder")
	must(tb, "crm_resource", "--wait", "--timeout=60s")
	for _, dev := range []string{"recorder", "realfence", "realfence2", "brokenfence"} {
		if !waitFor(30*time.Second, func() bool { return deviceStarted(tb, dev) }) {
			tb.Fatalf("device %s not Started:\n%s", dev, run(tb, "", "crm_mon", "-1", "-r"))
		}
	}
	tb.Logf("lab ready in %v", time.Since(start).Round(100*time.Millisecond))
	return l
}

// installAgent installs the built agent like a package would, and its
// built-in strategies with strategies; the test's end puts back what was
// there before.
func installAgent(tb testing.TB, strategies bool) {
	tb.Helper()
	installFile(tb, filepath.Join(build.Bin, "fence_gfs2_recorder"), agentPath, 0o755)
	if !strategies {
		return
	}
	if _, err := os.Stat(builtinDir); os.IsNotExist(err) {
		tb.Cleanup(func() { os.Remove(builtinDir); os.Remove(filepath.Dir(builtinDir)) })
	}
	wasms, _ := filepath.Glob(filepath.Join(build.Bin, "plugins", "*.wasm"))
	require.NotEmpty(tb, wasms, "make build produced no strategies")
	for _, w := range wasms {
		installFile(tb, w, filepath.Join(builtinDir, filepath.Base(w)), 0o644)
	}
}

// TestFencedEndToEnd drives the installed agent through pacemaker-fenced.
// The subtests share one cluster and run in order.
func TestFencedEndToEnd(t *testing.T) {
	start := time.Now()
	l := setupLab(t)
	wantFS := expectedFilesystems(t, target)
	require.Contains(t, wantFS, "default/fluxjob-102-0")
	require.Contains(t, wantFS, "default/projgfs")

	t.Run("describe", func(t *testing.T) {
		r := must(t, "pcs", "stonith", "describe", "fence_gfs2_recorder")
		for _, p := range []string{"log_dir", "config_file", "gfs2_discovery", "nodename", "plug", "verbose", "delay"} {
			assert.Contains(t, r.stdout, p+":", "pcs stonith describe lists %s", p)
		}
	})

	t.Run("metadata-as-hacluster", func(t *testing.T) {
		// pacemaker-controld asks for metadata as hacluster: no root, no log dir.
		r := must(t, "runuser", "-u", "hacluster", "--", agentPath, "-o", "metadata")
		assert.Contains(t, r.stdout, `<resource-agent name="fence_gfs2_recorder"`)
		v := run(t, r.stdout, "xmllint", "--noout", "--relaxng", "/usr/share/cluster/relaxng/metadata.rng", "-")
		assert.Zero(t, v.code, "metadata validates against fence-agents' metadata.rng:\n%s", v)
		// And through the fencer's own client.
		s := must(t, "stonith_admin", "--metadata", "--agent", "fence_gfs2_recorder")
		assert.Contains(t, s.stdout, `name="log_dir"`)
	})

	t.Run("validate", func(t *testing.T) {
		ok := run(t, "", "stonith_admin", "--validate", "--agent", "fence_gfs2_recorder",
			"--option", "log_dir="+l.logDir, "--option", "config_file="+l.config)
		assert.Zero(t, ok.code, "valid parameters:\n%s", ok)
		bad := run(t, "", "stonith_admin", "--validate", "--agent", "fence_gfs2_recorder",
			"--option", "log_dir="+l.logDir, "--option", "config_file="+filepath.Join(l.tmp, "missing.yaml"))
		assert.NotZero(t, bad.code, "a missing config file must fail validation:\n%s", bad)
		assert.Contains(t, bad.stdout+bad.stderr, "missing.yaml")
	})

	t.Run("reboot-records-off-then-on", func(t *testing.T) {
		before := len(readEvents(t, l.logDir))
		l.kube.ResetRequests()
		r := must(t, "stonith_admin", "--reboot", target, "--timeout", "60")
		t.Logf("stonith_admin --reboot %s took %v", target, r.took.Round(time.Millisecond))
		evs := forTarget(readEvents(t, l.logDir)[before:], target)
		require.Len(t, evs, 2, "a reboot through a two-device level is remapped to off then on")
		assert.Equal(t, "off", evs[0].PacemakerAction)
		assert.Equal(t, "on", evs[1].PacemakerAction)
		for _, ev := range evs {
			assertRecord(t, ev, l, wantFS)
			t.Logf("%s record: discovery by %s took %.1f ms", ev.PacemakerAction, ev.Discovery.Strategy, ev.Discovery.DurationMS)
		}
		assert.Less(t, evs[0].EventID, evs[1].EventID, "event ids are time-ordered")
		if b, err := os.ReadFile(filepath.Join(l.logDir, "fence-events-detailed.jsonl")); err == nil {
			t.Logf("last record:\n%s", tail(string(b), 1))
		}
		assert.NotEmpty(t, l.kube.ResourceRequests(), "the agent's kubectl reached the API server")
		// The real device ran too: the fencer's history has the reboot.
		h := must(t, "stonith_admin", "--history", target, "--output-as=xml")
		assert.Contains(t, h.stdout, `action="reboot"`)
		assert.Contains(t, h.stdout, `status="success"`)
	})

	t.Run("fence-records-one-off", func(t *testing.T) {
		before := len(readEvents(t, l.logDir))
		must(t, "stonith_admin", "--fence", target, "--timeout", "60")
		evs := forTarget(readEvents(t, l.logDir)[before:], target)
		require.Len(t, evs, 1)
		assert.Equal(t, "off", evs[0].PacemakerAction)
		assertRecord(t, evs[0], l, wantFS)
	})

	t.Run("failing-device-fails-the-level-after-the-record", func(t *testing.T) {
		before := len(readEvents(t, l.logDir))
		r := run(t, "", "stonith_admin", "--reboot", brokenTarget, "--timeout", "60")
		assert.NotZero(t, r.code, "the real device failed, so the fence failed:\n%s", r)
		evs := forTarget(readEvents(t, l.logDir)[before:], brokenTarget)
		require.NotEmpty(t, evs, "the recorder ran first and recorded the attempt")
		for _, ev := range evs {
			assert.Equal(t, "off", ev.PacemakerAction, "no on: the level stopped at the failed off")
		}
		t.Logf("%d record(s) for the failed fence of %s; stonith_admin rc=%d after %v",
			len(evs), brokenTarget, r.code, r.took.Round(time.Millisecond))
	})

	t.Run("readable-log", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(l.logDir, "fence-events-readable.log"))
		require.NoError(t, err)
		var lines []string
		for _, ln := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if strings.Contains(ln, "TARGET="+target+" ") {
				lines = append(lines, ln)
			}
		}
		require.Len(t, lines, 3, "off, on, off for %s in:\n%s", target, b)
		for _, ln := range lines {
			assert.Contains(t, ln, "TARGET="+target)
			assert.Contains(t, ln, `"default/projgfs"`)
		}
	})

	t.Run("stdin-from-fenced", func(t *testing.T) {
		got := captureStdin(t, l)
		want := map[string]string{
			"action": "off", "nodename": target, "port": target,
			"log_dir": l.logDir, "config_file": l.config, "verbose": "1",
		}
		require.NotEmpty(t, got)
		assert.Equal(t, want, parseKV(got[0]), "first call of a reboot: exactly these keys")
		assert.Equal(t, "on", parseKV(got[len(got)-1])["action"])
	})

	t.Run("monitor-keeps-device-started", func(t *testing.T) {
		// verbose=1 makes each successful monitor write a debug line.
		oplog := filepath.Join(l.logDir, "fence-events.log")
		count := func() int {
			b, _ := os.ReadFile(oplog)
			return strings.Count(string(b), "monitor ok")
		}
		n0 := count()
		if !waitFor(3*monitorEvery, func() bool { return count() >= n0+2 }) {
			t.Fatalf("fewer than 2 periodic monitors in %v (%d -> %d)", 3*monitorEvery, n0, count())
		}
		assert.True(t, deviceStarted(t, "recorder"), "recorder is Started")
		mon := must(t, "crm_mon", "-1", "--output-as=xml")
		assert.NotContains(t, mon.stdout, `<failure op_key="recorder_`, "no failed recorder actions")
	})

	t.Run("pcs-config-answers-from-the-live-cib", func(t *testing.T) {
		// compute-node-9 has no ClientMounts (kubectl-nnf: empty) and runs
		// nothing (pcs-status: empty), but the live CIB lets it run dlm and
		// two gfs2 clones: pcs-config answers through the real cibadmin.
		// The clones avoid the rabbit (it has no gfs2 devices) and the
		// offline compute is never fenced at startup, so nothing fails.
		must(t, "pcs", "property", "set", "startup-fencing=false")
		must(t, "cibadmin", "--create", "-o", "nodes", "-X", `<node id="9" uname="`+cibTarget+`"/>`)
		must(t, "pcs", "resource", "create", "dlm", "ocf:pacemaker:controld",
			"op", "monitor", "interval=30s", "on-fail=fence", "clone", "interleave=true", "ordered=true")
		must(t, "pcs", "constraint", "location", "dlm-clone", "avoids", labNode)
		for _, fs := range []string{"gfs2-home", "gfs2-proj"} {
			must(t, "pcs", "resource", "create", fs, "ocf:heartbeat:Filesystem",
				"device=/dev/vg_"+fs+"/lv", "directory=/mnt/"+fs, "fstype=gfs2",
				"op", "monitor", "interval=10s", "on-fail=fence", "clone", "interleave=true")
			must(t, "pcs", "constraint", "order", "start", "dlm-clone", "then", fs+"-clone")
			must(t, "pcs", "constraint", "colocation", "add", fs+"-clone", "with", "dlm-clone")
		}
		must(t, "pcs", "resource", "create", "xfs-local", "ocf:heartbeat:Filesystem",
			"device=/dev/vg_local/lv", "directory=/mnt/local", "fstype=xfs", "clone")
		must(t, "pcs", "constraint", "location", "xfs-local-clone", "avoids", labNode)
		must(t, "crm_resource", "--wait", "--timeout=60s")

		before := len(readEvents(t, l.logDir))
		must(t, "stonith_admin", "--fence", cibTarget, "--timeout", "60")
		evs := forTarget(readEvents(t, l.logDir)[before:], cibTarget)
		require.Len(t, evs, 1)
		ev := evs[0]
		assert.Equal(t, []string{"gfs2-home", "gfs2-proj"}, ev.GFS2Filesystems, "attempts: %+v", ev.Discovery.Attempts)
		assert.Equal(t, "pcs-config", ev.Discovery.Strategy)
		outcomes := map[string]string{}
		for _, a := range ev.Discovery.Attempts {
			outcomes[a.Strategy] = a.Outcome
		}
		assert.Equal(t, map[string]string{"kubectl-nnf": "empty", "pcs-status": "empty", "pcs-config": "found"}, outcomes)
		t.Logf("chain for %s: %+v (%.1f ms)", cibTarget, ev.Discovery.Attempts, ev.Discovery.DurationMS)
	})

	t.Logf("E2E DURATION %v (from the test's start, lock wait included; cluster stop follows)", time.Since(start).Round(100*time.Millisecond))
}

// event is the part of a fence-events-detailed.jsonl record the test checks.
type event struct {
	Timestamp       string   `json:"timestamp"`
	Action          string   `json:"action"`
	TargetNode      string   `json:"target_node"`
	GFS2Filesystems []string `json:"gfs2_filesystems"`
	Status          string   `json:"status"`
	Details         string   `json:"details"`
	RecorderNode    string   `json:"recorder_node"`
	PacemakerAction string   `json:"pacemaker_action"`
	EventID         string   `json:"event_id"`
	ConfigError     string   `json:"config_error"`
	InputWarnings   []string `json:"input_warnings"`
	Discovery       struct {
		Enabled    bool    `json:"enabled"`
		Strategy   string  `json:"strategy"`
		DurationMS float64 `json:"duration_ms"`
		Attempts   []struct {
			Strategy string `json:"strategy"`
			Outcome  string `json:"outcome"`
			Error    string `json:"error"`
		} `json:"attempts"`
	} `json:"discovery"`
}

func readEvents(tb testing.TB, dir string) []event { return recordtest.Read[event](tb, dir) }

func forTarget(evs []event, node string) []event {
	var out []event
	for _, ev := range evs {
		if ev.TargetNode == node {
			out = append(out, ev)
		}
	}
	return out
}

func assertRecord(t *testing.T, ev event, l *lab, wantFS []string) {
	t.Helper()
	assert.Equal(t, target, ev.TargetNode)
	assert.Equal(t, ev.PacemakerAction, ev.Action)
	assert.Equal(t, "initiated", ev.Status)
	assert.Equal(t, l.hostname, ev.RecorderNode, "recorder_node defaults to the host name")
	assert.Empty(t, ev.ConfigError, "config_file from the device parameters loaded")
	assert.Empty(t, ev.InputWarnings, "every stdin key fenced sent is known")
	assert.True(t, ev.Discovery.Enabled)
	assert.Equal(t, "kubectl-nnf", ev.Discovery.Strategy, "attempts: %+v", ev.Discovery.Attempts)
	got := append([]string(nil), ev.GFS2Filesystems...)
	sort.Strings(got)
	assert.Equal(t, wantFS, got)
	_, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
	assert.NoError(t, err)
}

// expectedFilesystems reads the NNF example system's answer for node.
func expectedFilesystems(tb testing.TB, node string) []string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(build.Root, "testdata", "nnf", "fixtures", "expected.json"))
	require.NoError(tb, err)
	var exp struct {
		Computes map[string][]string `json:"computes"`
	}
	require.NoError(tb, json.Unmarshal(b, &exp))
	fs, ok := exp.Computes[node]
	require.True(tb, ok, "%s in expected.json", node)
	sort.Strings(fs)
	return fs
}

// deviceStarted reports whether crm_mon shows the stonith resource id
// active, not failed, on the node.
func deviceStarted(tb testing.TB, id string) bool {
	r := run(tb, "", "crm_mon", "-1", "--output-as=xml")
	if r.code != 0 {
		return false
	}
	var doc struct {
		Resources []struct {
			ID     string `xml:"id,attr"`
			Role   string `xml:"role,attr"`
			Active string `xml:"active,attr"`
			Failed string `xml:"failed,attr"`
		} `xml:"resources>resource"`
	}
	if err := xml.Unmarshal([]byte(r.stdout), &doc); err != nil {
		return false
	}
	for _, res := range doc.Resources {
		if res.ID == id {
			return res.Role == "Started" && res.Active == "true" && res.Failed == "false"
		}
	}
	return false
}

// captureStdin swaps the installed agent for a shell wrapper that saves its
// stdin and then execs the real agent (same pid, same process group), runs
// one reboot, puts the agent back and returns what fenced wrote, in call
// order. The record the real agent makes from it is checked elsewhere.
func captureStdin(t *testing.T, l *lab) []string {
	t.Helper()
	dir := filepath.Join(l.tmp, "stdin")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	real := filepath.Join(filepath.Dir(agentPath), ".fence_gfs2_recorder.e2e-real")
	require.NoError(t, copyFile(agentPath, real, 0o755))
	defer os.Remove(real)
	wrapper := filepath.Join(l.tmp, "wrapper.sh")
	require.NoError(t, os.WriteFile(wrapper, []byte(fmt.Sprintf(`#!/bin/bash
# e2e stdin spy: keep fenced's exact bytes, then hand them to the real agent.
f=%s/$(date +%%s%%N)-$$.stdin
cat >"$f"
exec %s "$@" <"$f"
`, dir, real)), 0o755))
	require.NoError(t, copyFile(wrapper, agentPath, 0o755))
	defer func() { require.NoError(t, copyFile(real, agentPath, 0o755)) }()

	r := must(t, "stonith_admin", "--reboot", target, "--timeout", "60")
	t.Logf("through the stdin spy: %v", r.took.Round(time.Millisecond))
	files, _ := filepath.Glob(filepath.Join(dir, "*.stdin"))
	sort.Strings(files) // names start with the time in ns
	var got []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		kv := parseKV(string(b))
		if kv["action"] == "monitor" {
			t.Logf("stdin of a periodic monitor (%d bytes):\n%s", len(b), b)
			continue
		}
		t.Logf("EXACT STDIN FROM pacemaker-fenced (%d bytes, %q):\n%s", len(b), b, b)
		got = append(got, string(b))
	}
	require.Len(t, got, 2, "off and on")
	return got
}

func parseKV(s string) map[string]string {
	m := map[string]string{}
	for _, ln := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(ln, "="); ok {
			m[k] = v
		}
	}
	return m
}
