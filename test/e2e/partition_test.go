package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/agent"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
)

// partitionTarget's level 1 is recorder-partition, realfence-partition. In
// the captured Pacemaker state of testdata/pacemaker/dlm-two-gfs2 it runs
// dlm and two gfs2 clones.
const partitionTarget = "compute-node-30"

// partitionSlack is what a loaded 2-core machine may add per action on top
// of the fence wait (agent start, module load from the cache, record).
const partitionSlack = 3 * time.Second

// silentServer is fakekube.Silent for the length of the test.
func silentServer(tb testing.TB) string {
	tb.Helper()
	addr, stop, err := fakekube.Silent()
	require.NoError(tb, err)
	tb.Cleanup(stop)
	return addr
}

// TestPartitionUnderFenced: the real kubectl pointed at a silent API
// server, the real crm_mon and cibadmin reading a captured cluster where
// the target runs gfs2, the default fence wait. stonith_admin --reboot
// returns within the fence wait per action plus what the real devices take;
// each record names pcs-status's filesystems with kubectl-nnf pending, and
// the completion records follow with kubectl-nnf's timeout.
func TestPartitionUnderFenced(t *testing.T) {
	l := setupLab(t)
	dir := filepath.Join(l.tmp, "partition")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	logDir := filepath.Join(dir, "log")
	kubeconfig := filepath.Join(dir, "kubeconfig")
	require.NoError(t, fakekube.WriteKubeconfig(kubeconfig, "http://"+silentServer(t), "partitioned", nil))
	// A private copy of the captured CIB: nothing may touch the fixture.
	cib, err := os.ReadFile(filepath.Join(build.Root, "testdata", "pacemaker", "dlm-two-gfs2", "cib.xml"))
	require.NoError(t, err)
	cibCopy := filepath.Join(dir, "cib.xml")
	require.NoError(t, os.WriteFile(cibCopy, cib, 0o644))
	wantFS := []string{"gfs2-home", "gfs2-proj"}

	cfgFile := filepath.Join(dir, "config.yaml")
	// pairing_check is off for this device only: its cibadmin reads the
	// captured compute cluster, where no recorder exists; the lab's other
	// recorders check the lab's levels.
	require.NoError(t, os.WriteFile(cfgFile, []byte(fmt.Sprintf(`# e2e partition: written by test/e2e
cache_dir: %[1]s
safety:
  pairing_check: false
commands:
  kubectl:
    timeout: 3s
  crm_mon:
    set_env: {CIB_file: %[2]s}
  cibadmin:
    set_env: {CIB_file: %[2]s}
strategies:
  kubectl-nnf:
    config:
      kubeconfig: %[3]s
      cache_dir: %[4]s
`, filepath.Join(l.tmp, "wasm-cache"), cibCopy, kubeconfig, filepath.Join(dir, "kube-cache"))), 0o644))

	must(t, "pcs", "stonith", "create", "realfence-partition", "fence_dummy", "pcmk_host_list="+partitionTarget)
	must(t, "pcs", "stonith", "create", "recorder-partition", "fence_gfs2_recorder",
		"log_dir="+logDir, "config_file="+cfgFile, "verbose=1", "pcmk_host_list="+partitionTarget,
		"op", "monitor", fmt.Sprintf("interval=%ds", int(monitorEvery/time.Second)), "--disabled")
	must(t, "pcs", "stonith", "level", "add", "1", partitionTarget, "recorder-partition", "realfence-partition", "--force")
	must(t, "pcs", "stonith", "enable", "recorder-partition")
	must(t, "crm_resource", "--wait", "--timeout=60s")
	for _, dev := range []string{"recorder-partition", "realfence-partition"} {
		if !waitFor(30*time.Second, func() bool { return deviceStarted(t, dev) }) {
			t.Fatalf("device %s not Started:\n%s", dev, run(t, "", "crm_mon", "-1", "-r"))
		}
	}
	t.Cleanup(func() {
		if !waitFor(secondRecordWait, func() bool { return len(detachedProcesses()) == 0 }) {
			t.Errorf("completion processes still running at the end: %+v", detachedProcesses())
		}
	})

	// What the real devices take: a reboot through two fence_dummy devices.
	devices := must(t, "stonith_admin", "--reboot", pairTarget, "--timeout", "60").took
	wait := config.DefaultFenceWait
	before := len(readRecords(t, logDir))
	r := must(t, "stonith_admin", "--reboot", partitionTarget, "--timeout", "60")
	bound := devices + 2*(wait+partitionSlack)
	t.Logf("stonith_admin --reboot %s with a silent API server took %v (two fence_dummy devices: %v; bound %v)",
		partitionTarget, r.took.Round(time.Millisecond), devices.Round(time.Millisecond), bound)
	assert.Less(t, r.took, bound, "each action waits at most the fence wait for discovery")

	recs := readRecords(t, logDir)[before:]
	require.GreaterOrEqual(t, len(recs), 2, "a record per action when the fence returns")
	partial := map[string]string{} // event id -> action
	for _, ev := range recs[:2] {
		assert.Equal(t, discovery.StatePartial, ev.Discovery.State, "attempts: %+v", ev.Discovery.Attempts)
		assert.Equal(t, partitionTarget, ev.TargetNode)
		assert.Equal(t, wantFS, ev.GFS2Filesystems, "the Pacemaker answer from the state the fence found")
		// pcs-status answers within the fence wait; only on a machine so
		// loaded that it had not answered within hedge_after either is
		// pcs-config hedged and taken, with pcs-status named as pending.
		switch ev.Discovery.Strategy {
		case "pcs-status":
			assert.Equal(t, []string{"kubectl-nnf"}, ev.Discovery.Pending)
			assert.Equal(t, 1, ev.Discovery.HedgesStarted)
		case "pcs-config":
			assert.Equal(t, []string{"kubectl-nnf", "pcs-status"}, ev.Discovery.Pending)
			t.Logf("%s: pcs-status had not answered at the fence wait; pcs-config's answer recorded", ev.PacemakerAction)
		default:
			t.Errorf("%s: answered by %q: %+v", ev.PacemakerAction, ev.Discovery.Strategy, ev.Discovery.Attempts)
		}
		partial[ev.EventID] = ev.PacemakerAction
	}
	assert.ElementsMatch(t, []string{"off", "on"}, []string{recs[0].PacemakerAction, recs[1].PacemakerAction})

	// The completions follow, each with kubectl-nnf's timeout; the answer
	// stays pcs-status's.
	all := waitRecords(t, logDir, before, 4)
	var done int
	for _, ev := range all {
		if ev.Discovery.State == discovery.StatePartial {
			continue
		}
		done++
		assert.Contains(t, partial, ev.EventID, "a completion record carries the partial record's event id")
		assert.Equal(t, agent.StateComplete, ev.Discovery.State)
		assert.Equal(t, "pcs-status", ev.Discovery.Strategy)
		assert.Equal(t, wantFS, ev.GFS2Filesystems)
		assert.Empty(t, ev.Discovery.Pending)
		require.NotEmpty(t, ev.Discovery.Attempts)
		k := ev.Discovery.Attempts[0]
		assert.Equal(t, "kubectl-nnf", k.Strategy)
		assert.Equal(t, discovery.OutcomeTimeout, k.Outcome, "kubectl-nnf: %s", k.Error)
		t.Logf("completion of %s: kubectl-nnf %s after %.0f ms (%s)", partial[ev.EventID], k.Outcome, k.DurationMS, k.Error)
	}
	assert.Equal(t, 2, done)
}
