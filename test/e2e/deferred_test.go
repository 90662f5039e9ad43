package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/agent"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record/recordtest"
)

// deferredTarget's level 1 is recorder-deferred, realfence-deferred. NNF has
// the same two gfs2 filesystems for it as for target (expected.json).
const deferredTarget = "compute-node-4"

// secondRecordWait bounds how long the detached process may take to append
// the second record once nothing holds it.
const secondRecordWait = 30 * time.Second

// deferredDevice is the recorder of deferredTarget: its own configuration
// file (rewritten between subtests; the agent reads it on every run) and
// log directory, beside the lab's inline recorder.
type deferredDevice struct {
	l          *lab
	dir        string
	config     string // config_file of recorder-deferred
	logDir     string // log_dir of recorder-deferred
	kubeconfig string // the loopback API server's
	kubectl    string // the real kubectl
	// heldKubectl is the real kubectl behind a wrapper that waits while the
	// hold file exists (at most 20 s), so a test can look at the detached
	// process while its discovery is surely still running.
	heldKubectl string
	hold        string
}

// addDeferredDevice adds recorder-deferred and a fence_dummy of its own in
// one level for deferredTarget, the way docs/PACEMAKER.md configures a
// recorder (created disabled, level, enable), in discovery.mode deferred.
func addDeferredDevice(tb testing.TB, l *lab) *deferredDevice {
	tb.Helper()
	d := &deferredDevice{l: l, dir: filepath.Join(l.tmp, "deferred")}
	require.NoError(tb, os.MkdirAll(d.dir, 0o755))
	d.config = filepath.Join(d.dir, "config.yaml")
	d.logDir = filepath.Join(d.dir, "log")
	d.hold = filepath.Join(d.dir, "hold")
	var err error
	d.kubeconfig, err = l.kube.WriteKubeconfig(d.dir)
	require.NoError(tb, err)
	d.kubectl, err = exec.LookPath("kubectl")
	require.NoError(tb, err)
	d.heldKubectl = filepath.Join(d.dir, "kubectl-held")
	require.NoError(tb, os.WriteFile(d.heldKubectl, []byte(fmt.Sprintf(`#!/bin/sh
# e2e deferred: kubectl of the detached process; waits while %[1]s exists.
i=0
while [ -e %[1]s ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
exec %[2]s "$@"
`, d.hold, d.kubectl)), 0o755))
	d.writeConfig(tb, "deferred", false)

	must(tb, "pcs", "stonith", "create", "realfence-deferred", "fence_dummy", "pcmk_host_list="+deferredTarget)
	must(tb, "pcs", "stonith", "create", "recorder-deferred", "fence_gfs2_recorder",
		"log_dir="+d.logDir, "config_file="+d.config, "verbose=1", "pcmk_host_list="+deferredTarget,
		"op", "monitor", fmt.Sprintf("interval=%ds", int(monitorEvery/time.Second)), "--disabled")
	must(tb, "pcs", "stonith", "level", "add", "1", deferredTarget, "recorder-deferred", "realfence-deferred", "--force")
	must(tb, "pcs", "stonith", "enable", "recorder-deferred")
	must(tb, "crm_resource", "--wait", "--timeout=60s")
	for _, dev := range []string{"recorder-deferred", "realfence-deferred"} {
		if !waitFor(30*time.Second, func() bool { return deviceStarted(tb, dev) }) {
			tb.Fatalf("device %s not Started:\n%s", dev, run(tb, "", "crm_mon", "-1", "-r"))
		}
	}
	return d
}

// writeConfig replaces recorder-deferred's configuration file (through a
// rename: a run that reads it meanwhile sees the old or the new file). It
// shares the lab recorder's compile cache, kubeconfig and kubectl cache, so
// the two differ only in mode. held puts heldKubectl in kubectl's place,
// with timeouts long enough for the wait. Mode "disabled" turns discovery
// off.
func (d *deferredDevice) writeConfig(tb testing.TB, mode string, held bool) {
	tb.Helper()
	kubectl, timeout, discovery := d.kubectl, "", ""
	if mode == "disabled" {
		mode, discovery = config.ModeInline, "\n  enabled: false"
	}
	if held {
		kubectl = d.heldKubectl
		timeout, discovery = "\n    timeout: 30s", "\n  budget: 45s"
	}
	yaml := fmt.Sprintf(`# e2e deferred: written by test/e2e (mode %[1]s, held %[2]v)
cache_dir: %[3]s
discovery:
  mode: %[1]s%[4]s
commands:
  kubectl:
    path: %[5]s%[6]s
strategies:
  kubectl-nnf:%[6]s
    config:
      kubeconfig: %[7]s
      cache_dir: %[8]s
      request_timeout: 4s
`, mode, held, filepath.Join(d.l.tmp, "wasm-cache"), discovery, kubectl, timeout,
		d.kubeconfig, filepath.Join(d.l.tmp, "kube-cache"))
	tmp := d.config + ".tmp"
	require.NoError(tb, os.WriteFile(tmp, []byte(yaml), 0o644))
	require.NoError(tb, os.Rename(tmp, d.config))
}

// TestDeferredUnderFenced proves discovery.mode deferred under the real
// pacemaker-fenced: the fence returns with a pending record per action,
// while the detached process (own session, not a descendant of fenced) is
// still discovering; it then appends the second record, even when fenced's
// timeout has killed the agent's process group. It also times the same
// device's fence with discovery disabled, inline and deferred.
func TestDeferredUnderFenced(t *testing.T) {
	l := setupLab(t)
	d := addDeferredDevice(t, l)
	wantFS := expectedFilesystems(t, deferredTarget)
	require.Equal(t, expectedFilesystems(t, target), wantFS, "the inline lab target has the same answer")
	t.Cleanup(func() {
		// Never leave a detached process held; let it finish before the
		// cluster and the temporary directory go away.
		os.Remove(d.hold)
		if !waitFor(secondRecordWait, func() bool { return len(detachedProcesses()) == 0 }) {
			t.Errorf("detached processes still running at the end: %+v", detachedProcesses())
		}
	})

	t.Run("reboot-returns-before-discovery-second-records-after", func(t *testing.T) {
		d.writeConfig(t, "deferred", true)
		spy := installAgentSpy(t, filepath.Join(d.dir, "spy"), false)
		require.NoError(t, os.WriteFile(d.hold, nil, 0o644))
		defer os.Remove(d.hold)
		before := len(readRecords(t, d.logDir))
		readableBefore := len(readableLines(t, d.logDir))

		r := must(t, "stonith_admin", "--reboot", deferredTarget, "--timeout", "60")
		t.Logf("stonith_admin --reboot %s (deferred, discovery held) took %v", deferredTarget, r.took.Round(time.Millisecond))

		// The fence is done while both detached processes wait in kubectl:
		// the two pending records are there, no second record yet.
		recs := readRecords(t, d.logDir)[before:]
		require.Len(t, recs, 2, "one pending record per action at the fence's return: %+v", recs)
		for i, action := range []string{"off", "on"} {
			assertPending(t, recs[i], action, l)
		}
		pending := recs

		// Who ran the agent, and where the detached processes are.
		calls := spy.calls(t, deferredTarget)
		require.Len(t, calls, 2, "fenced ran the recorder for off and on")
		for i, c := range calls {
			assert.Equal(t, pending[i].Action, c.stdin["action"])
			assert.Equal(t, map[string]string{"action": c.stdin["action"], "nodename": deferredTarget, "port": deferredTarget,
				"log_dir": d.logDir, "config_file": d.config, "verbose": "1"}, c.stdin, "exactly these keys")
			assert.Equal(t, "pacemaker-fence", c.parentComm, "pacemaker-fenced ran the agent (comm is cut at 15 bytes)")
			assert.Equal(t, c.pid, c.pgrp, "fenced gives the agent its own process group (the one it SIGKILLs on timeout)")
			_, err := os.Stat(fmt.Sprintf("/proc/%d", c.pid))
			assert.True(t, os.IsNotExist(err), "the agent of %s (pid %d) has exited", c.stdin["action"], c.pid)
			assert.Empty(t, processGroup(c.pgrp), "nothing is left in the agent's process group for fenced to kill")
			t.Logf("EXACT STDIN FROM pacemaker-fenced to recorder-deferred (%s, %d bytes, %q):\n%s",
				c.stdin["action"], len(c.raw), c.raw, c.raw)
			t.Logf("agent for %s: pid %d, pgrp %d, sid %d, parent %d (%s)", c.stdin["action"], c.pid, c.pgrp, c.sid, c.ppid, c.parentComm)
		}
		procs := d.heldDetached(t, 2)
		for _, p := range procs {
			assert.Equal(t, p.pid, p.sid, "detached process %d leads its own session (Setsid)", p.pid)
			assert.Equal(t, p.pid, p.pgrp, "and its own process group")
			for _, c := range calls {
				assert.NotEqual(t, c.pgrp, p.pgrp, "not in an agent's process group")
				assert.NotEqual(t, c.sid, p.sid, "not in an agent's session")
			}
			anc := ancestors(p.pid)
			for _, a := range anc {
				assert.NotEqual(t, "pacemaker-fence", a.comm, "not a descendant of pacemaker-fenced: %+v", anc)
			}
			t.Logf("detached process %d (comm %q): pgrp %d, sid %d, ancestors %+v", p.pid, p.comm, p.pgrp, p.sid, anc)
		}
		require.Len(t, readRecords(t, d.logDir)[before:], 2, "still no second record while discovery is held")

		require.NoError(t, os.Remove(d.hold))
		released := time.Now()
		recs = waitRecords(t, d.logDir, before, 4)
		t.Logf("second records %v after the hold was released", time.Since(released).Round(time.Millisecond))
		assertSecondRecords(t, pending, recs[2:], wantFS)
		assert.True(t, waitFor(10*time.Second, func() bool { return len(detachedProcesses()) == 0 }),
			"the detached processes exit after their record")

		// Each record has its readable line: pending lines, then the second ones.
		var want []string
		for i := range recs {
			want = append(want, strings.TrimSuffix(recs[i].ReadableLine(), "\n"))
		}
		got := readableLines(t, d.logDir)[readableBefore:]
		sort.Strings(want)
		sort.Strings(got)
		assert.Equal(t, want, got)

		op, err := os.ReadFile(filepath.Join(d.logDir, record.OperationalFile))
		require.NoError(t, err)
		assert.Equal(t, 2, strings.Count(string(op), "deferred discovery started in a detached process"))
		assert.NotContains(t, string(op), "discovering inline")

		h := must(t, "stonith_admin", "--history", deferredTarget, "--output-as=xml")
		assert.Contains(t, h.stdout, `action="reboot"`)
		assert.Contains(t, h.stdout, `status="success"`)
	})

	t.Run("fence-records-one-off-then-its-second-record", func(t *testing.T) {
		d.writeConfig(t, "deferred", false)
		before := len(readRecords(t, d.logDir))
		must(t, "stonith_admin", "--fence", deferredTarget, "--timeout", "60")
		pending, second := splitPending(waitRecords(t, d.logDir, before, 2))
		require.Len(t, pending, 1)
		assertPending(t, pending[0], "off", l)
		assertSecondRecords(t, pending, second, wantFS)
	})

	t.Run("fence-time-deferred-vs-inline", func(t *testing.T) {
		// Same device, level, target and kubectl; only the configuration
		// differs. Interleaved so load on the machine hits all alike. After
		// each reboot the test waits (untimed) for all its records, so no
		// discovery runs into the next fence.
		//
		//	disabled  discovery.enabled false: the floor of a recorder run
		//	inline    the default: discovery in the fence
		//	deferred  discovery in the detached process, concurrent with
		//	          the rest of the fence (real device off, recorder on, ...)
		//	held      deferred, but the detached processes wait in kubectl
		//	          until stonith_admin returned: what deferred costs the
		//	          fence when its discovery does not compete for the CPU
		const runs = 10
		variants := []string{"disabled", "inline", "deferred", "held"}
		took := map[string][]time.Duration{}
		var behind []time.Duration
		var inlineDisc, deferredDisc []float64
		early := 0 // off's second record written before on's pending one
		reboot := func(variant string) []record.Event {
			mode, n := variant, 4
			switch variant {
			case "disabled", "inline":
				n = 2
			case "held":
				mode = "deferred"
				require.NoError(t, os.WriteFile(d.hold, nil, 0o644))
			}
			d.writeConfig(t, mode, variant == "held")
			before := len(readRecords(t, d.logDir))
			r := must(t, "stonith_admin", "--reboot", deferredTarget, "--timeout", "60")
			returned := time.Now()
			os.Remove(d.hold)
			took[variant] = append(took[variant], r.took)
			var recs []record.Event
			for deadline := returned.Add(secondRecordWait); len(recs) < n && time.Now().Before(deadline); {
				if recs = readRecords(t, d.logDir)[before:]; len(recs) < n {
					time.Sleep(5 * time.Millisecond)
				}
			}
			require.Len(t, recs, n, "records of a %s reboot", variant)
			if variant == "deferred" {
				behind = append(behind, time.Since(returned))
			}
			return recs
		}
		for _, v := range variants {
			reboot(v) // warm every path once, untimed
		}
		clear(took)
		behind = nil
		for i := 0; i < runs; i++ {
			for _, v := range variants {
				recs := reboot(v)
				switch v {
				case "disabled":
					for _, ev := range recs {
						assert.Equal(t, []string{"discovery-disabled"}, ev.GFS2Filesystems)
					}
				case "inline":
					for _, ev := range recs {
						got := slices.Clone(ev.GFS2Filesystems)
						sort.Strings(got)
						assert.Equal(t, wantFS, got, "inline mode's answer for the node")
						assert.Empty(t, ev.Discovery.State, "inline records have no discovery state")
						inlineDisc = append(inlineDisc, ev.Discovery.DurationMS)
					}
				default:
					pending, second := splitPending(recs)
					require.Len(t, pending, 2)
					assert.Equal(t, []string{"off", "on"}, []string{pending[0].Action, pending[1].Action})
					assertSecondRecords(t, pending, second, wantFS)
					if v == "deferred" {
						for _, ev := range second {
							deferredDisc = append(deferredDisc, ev.Discovery.DurationMS)
						}
						if recs[1].Discovery.State != agent.StatePending {
							early++
						}
					}
				}
			}
		}
		t.Logf("FENCE TIME stonith_admin --reboot %s, level recorder-deferred + fence_dummy, %d runs each, interleaved:", deferredTarget, runs)
		for _, v := range variants {
			ds := took[v]
			t.Logf("  %-9s median %4d ms [%d-%d]", v, median(ds).Milliseconds(), slices.Min(ds).Milliseconds(), slices.Max(ds).Milliseconds())
		}
		mi, md := median(took["inline"]), median(took["deferred"])
		t.Logf("  deferred / inline = %.2f (medians): %d ms less per reboot", float64(md)/float64(mi), (mi - md).Milliseconds())
		t.Logf("  discovery per record: inline median %.0f ms, in the detached process median %.0f ms",
			median(inlineDisc), median(deferredDisc))
		t.Logf("  deferred: all four records %d ms after the fence returned (median; max %d); off's second record before on's pending one in %d/%d reboots",
			median(behind).Milliseconds(), slices.Max(behind).Milliseconds(), early, runs)
	})

	t.Run("fenced-timeout-kills-the-agents-group-not-the-detached-process", func(t *testing.T) {
		// An agent stuck after detaching: fenced's device timeout SIGKILLs
		// its process group and the fence fails; the detached process,
		// held in kubectl meanwhile, lives on and appends the second record.
		// Last subtest: it leaves a failed fence in the history.
		must(t, "pcs", "stonith", "update", "recorder-deferred", "pcmk_off_timeout=4")
		defer func() {
			must(t, "pcs", "stonith", "update", "recorder-deferred", "pcmk_off_timeout=")
			must(t, "crm_resource", "--wait", "--timeout=60s")
		}()
		must(t, "crm_resource", "--wait", "--timeout=60s")
		require.True(t, waitFor(30*time.Second, func() bool { return deviceStarted(t, "recorder-deferred") }))
		d.writeConfig(t, "deferred", true)
		spy := installAgentSpy(t, filepath.Join(d.dir, "spy-hang"), true)
		require.NoError(t, os.WriteFile(d.hold, nil, 0o644))
		defer os.Remove(d.hold)
		before := len(readRecords(t, d.logDir))
		logStart := fileSize(pacemakerLog)

		r := run(t, "", "stonith_admin", "--fence", deferredTarget, "--timeout", "60")
		t.Logf("stonith_admin --fence %s with the agent stuck after detaching: rc=%d after %v",
			deferredTarget, r.code, r.took.Round(time.Millisecond))
		assert.NotZero(t, r.code, "the recorder timed out, so its level and the fence failed:\n%s", r)
		for _, ln := range strings.Split(readFrom(pacemakerLog, logStart), "\n") {
			if strings.Contains(ln, "recorder-deferred") && strings.Contains(ln, deferredTarget) {
				t.Logf("pacemaker.log: %s", ln)
			}
		}

		calls := spy.calls(t, deferredTarget)
		require.NotEmpty(t, calls)
		for _, c := range calls {
			assert.Equal(t, "off", c.stdin["action"])
			assert.Equal(t, "0", c.rc, "the agent itself exited 0 after detaching")
			assert.True(t, waitFor(5*time.Second, func() bool { return len(processGroup(c.pgrp)) == 0 }),
				"fenced killed the agent's whole process group (wrapper and the sleep beside it): %+v", processGroup(c.pgrp))
		}
		pending := readRecords(t, d.logDir)[before:]
		require.Len(t, pending, len(calls), "one pending record per attempt fenced made")
		for _, ev := range pending {
			assertPending(t, ev, "off", l)
		}
		procs := d.heldDetached(t, len(calls)) // every detached process outlived the group kill
		for _, p := range procs {
			assert.Equal(t, p.pid, p.sid)
		}
		t.Logf("%d attempt(s); detached processes alive after the kill: %+v", len(calls), procs)

		require.NoError(t, os.Remove(d.hold))
		recs := waitRecords(t, d.logDir, before, 2*len(calls))
		assertSecondRecords(t, pending, recs[len(calls):], wantFS)
	})
}

// pacemakerLog is where the lab's daemons log (scripts/pacemaker-lab).
const pacemakerLog = "/var/log/pacemaker/pacemaker.log"

func fileSize(name string) int64 {
	st, err := os.Stat(name)
	if err != nil {
		return 0
	}
	return st.Size()
}

// readFrom returns name from offset on ("" when it cannot be read).
func readFrom(name string, offset int64) string {
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// assertPending checks the first record of a deferred event.
func assertPending(t *testing.T, ev record.Event, action string, l *lab) {
	t.Helper()
	assert.Equal(t, action, ev.Action)
	assert.Equal(t, action, ev.PacemakerAction)
	assert.Equal(t, deferredTarget, ev.TargetNode)
	assert.Equal(t, record.StatusInitiated, ev.Status)
	assert.Equal(t, l.hostname, ev.RecorderNode)
	assert.Empty(t, ev.ConfigError)
	assert.Empty(t, ev.InputWarnings)
	assert.True(t, ev.Discovery.Enabled)
	assert.Equal(t, agent.StatePending, ev.Discovery.State)
	assert.Empty(t, ev.Discovery.Attempts)
	assert.Equal(t, []string{agent.DiscoveryPending}, ev.GFS2Filesystems)
	_, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
	assert.NoError(t, err)
}

// assertSecondRecords pairs each pending record with exactly one second
// record of the same event_id (in any order: the detached processes race)
// that describes the same event with discovery complete.
func assertSecondRecords(t *testing.T, pending, second []record.Event, wantFS []string) {
	t.Helper()
	require.Len(t, second, len(pending))
	for _, p := range pending {
		var match []record.Event
		for _, s := range second {
			if s.EventID == p.EventID {
				match = append(match, s)
			}
		}
		if !assert.Len(t, match, 1, "one second record for event %s (%s)", p.EventID, p.Action) {
			continue
		}
		s := match[0]
		assert.Equal(t, agent.StateComplete, s.Discovery.State, "attempts: %+v", s.Discovery.Attempts)
		assert.Equal(t, "kubectl-nnf", s.Discovery.Strategy)
		got := slices.Clone(s.GFS2Filesystems)
		sort.Strings(got)
		assert.Equal(t, wantFS, got)
		for _, f := range []struct{ name, a, b string }{
			{"timestamp", p.Timestamp, s.Timestamp},
			{"action", p.Action, s.Action},
			{"pacemaker_action", p.PacemakerAction, s.PacemakerAction},
			{"target_node", p.TargetNode, s.TargetNode},
			{"recorder_node", p.RecorderNode, s.RecorderNode},
			{"status", p.Status, s.Status},
			{"agent_version", p.AgentVersion, s.AgentVersion},
		} {
			assert.Equal(t, f.a, f.b, "%s of event %s", f.name, p.EventID)
		}
	}
}

// readRecords reads fence-events-detailed.jsonl as the agent's own type.
func readRecords(tb testing.TB, dir string) []record.Event {
	tb.Helper()
	return recordtest.Read[record.Event](tb, dir)
}

// waitRecords waits (at most secondRecordWait) until dir has n records after
// the first before, and returns those.
func waitRecords(tb testing.TB, dir string, before, n int) []record.Event {
	tb.Helper()
	var recs []record.Event
	waitFor(secondRecordWait, func() bool {
		recs = readRecords(tb, dir)[before:]
		return len(recs) >= n
	})
	require.Len(tb, recs, n, "records within %v; operational log:\n%s", secondRecordWait,
		tail(readOr(filepath.Join(dir, record.OperationalFile)), 20))
	return recs
}

func readableLines(tb testing.TB, dir string) []string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, record.ReadableFile))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(tb, err)
	if len(b) == 0 {
		return nil // monitor creates the file to check the directory takes records
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func readOr(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// splitPending separates the pending records from the second ones, each in
// file order. Without a hold, the off's second record may come before the
// on's pending one: readers join by event_id, never by position.
func splitPending(recs []record.Event) (pending, second []record.Event) {
	for _, ev := range recs {
		if ev.Discovery.State == agent.StatePending {
			pending = append(pending, ev)
		} else {
			second = append(second, ev)
		}
	}
	return pending, second
}

func median[T time.Duration | float64](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// proc is a process as /proc/<pid>/stat shows it.
type proc struct {
	pid, ppid, pgrp, sid int
	comm                 string
}

func readProc(pid int) (proc, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	// pid (comm) state ppid pgrp session ...; comm may hold spaces and ')'.
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return proc{}, false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 4 {
		return proc{}, false
	}
	p := proc{pid: pid, comm: s[open+1 : end]}
	p.ppid, _ = strconv.Atoi(f[1])
	p.pgrp, _ = strconv.Atoi(f[2])
	p.sid, _ = strconv.Atoi(f[3])
	return p, true
}

func allProcs() []proc {
	var ps []proc
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if p, ok := readProc(pid); ok {
				ps = append(ps, p)
			}
		}
	}
	return ps
}

// detachedProcesses lists the running `fence_gfs2_recorder
// __finish-deferred-discovery` processes of the installed agent (or of the
// spy's copy beside it), not those of a test binary elsewhere, nor a child
// one of them has forked and not yet exec'ed (it shows the same command line
// for that moment).
func detachedProcesses() []proc {
	var out []proc
	pids := map[int]bool{}
	for _, p := range allProcs() {
		if cmdline(p.pid) != "fence_gfs2_recorder\x00"+agent.DeferredSubcommand+"\x00" {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.pid)); err == nil &&
			strings.HasPrefix(exe, filepath.Dir(agentPath)+"/") {
			out = append(out, p)
			pids[p.pid] = true
		}
	}
	return slices.DeleteFunc(out, func(p proc) bool { return pids[p.ppid] })
}

// heldDetached waits (at most 10 s) until exactly n detached processes run,
// each waiting on its child, the held kubectl, and returns them.
func (d *deferredDevice) heldDetached(t *testing.T, n int) []proc {
	t.Helper()
	var procs []proc
	ok := waitFor(10*time.Second, func() bool {
		procs = detachedProcesses()
		held := 0
		for _, c := range allProcs() {
			if slices.ContainsFunc(procs, func(p proc) bool { return p.pid == c.ppid }) &&
				strings.Contains(cmdline(c.pid), d.heldKubectl) {
				held++
			}
		}
		return len(procs) == n && held == n
	})
	require.True(t, ok, "%d detached processes, each in the held kubectl: %+v", n, procs)
	return procs
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return string(b)
}

// processGroup lists the live processes of process group pgrp.
func processGroup(pgrp int) []proc {
	var out []proc
	for _, p := range allProcs() {
		if p.pgrp == pgrp {
			out = append(out, p)
		}
	}
	return out
}

// ancestors returns the ancestors of pid, parent first.
func ancestors(pid int) []proc {
	var out []proc
	for i := 0; i < 64; i++ {
		p, ok := readProc(pid)
		if !ok || p.ppid == 0 {
			break
		}
		pp, ok := readProc(p.ppid)
		if !ok {
			break
		}
		out = append(out, pp)
		pid = pp.pid
	}
	return out
}

// agentSpy is the installed agent replaced by a shell wrapper that keeps
// fenced's stdin and the process's pid, process group, session and parent,
// then execs the real agent (same pid, group and session).
type agentSpy struct{ dir string }

type agentCall struct {
	raw                  string
	stdin                map[string]string
	pid, pgrp, sid, ppid int
	parentComm           string
	rc                   string // the real agent's exit code, hang mode only
}

// installAgentSpy puts the spy in place until the test ends. With hang, on,
// off and reboot run the real agent as the wrapper's child instead, and the
// wrapper then stays, with a second process beside it in its process group,
// until fenced's timeout kills the group: an agent stuck after detaching.
func installAgentSpy(t *testing.T, dir string, hang bool) *agentSpy {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	real := filepath.Join(filepath.Dir(agentPath), ".fence_gfs2_recorder.e2e-real")
	require.NoError(t, copyFile(agentPath, real, 0o755))
	wrapper := filepath.Join(dir, "wrapper.sh")
	require.NoError(t, os.WriteFile(wrapper, []byte(fmt.Sprintf(`#!/bin/bash
# e2e spy: fenced's exact stdin and who this process is, then the real agent.
f=%[1]s/$(date +%%s%%N)-$$
cat >"$f.stdin"
read -r -a st </proc/$$/stat
echo "${st[0]} ${st[4]} ${st[5]} ${st[3]} $(cat /proc/${st[3]}/comm)" >"$f.proc"
if [ %[3]v = true ] && grep -qxE 'action=(on|off|reboot)' "$f.stdin"; then
    %[2]s "$@" <"$f.stdin"
    echo $? >"$f.rc"
    sleep 30 &
    exec sleep 30
fi
exec %[2]s "$@" <"$f.stdin"
`, dir, real, hang)), 0o755))
	require.NoError(t, copyFile(wrapper, agentPath, 0o755))
	t.Cleanup(func() {
		require.NoError(t, copyFile(real, agentPath, 0o755))
		os.Remove(real)
	})
	return &agentSpy{dir: dir}
}

// calls returns the fence actions for node the spy saw, in call order.
func (s *agentSpy) calls(t *testing.T, node string) []agentCall {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.dir, "*.stdin"))
	sort.Strings(files) // names start with the time in ns
	var out []agentCall
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		c := agentCall{raw: string(b), stdin: parseKV(string(b))}
		if c.stdin["nodename"] != node {
			continue // a periodic monitor, or another device's target
		}
		p, err := os.ReadFile(strings.TrimSuffix(f, ".stdin") + ".proc")
		require.NoError(t, err)
		_, err = fmt.Sscanf(string(p), "%d %d %d %d %s", &c.pid, &c.pgrp, &c.sid, &c.ppid, &c.parentComm)
		require.NoError(t, err, "spy line %q", p)
		if b, err := os.ReadFile(strings.TrimSuffix(f, ".stdin") + ".rc"); err == nil {
			c.rc = strings.TrimSpace(string(b))
		}
		out = append(out, c)
	}
	return out
}
