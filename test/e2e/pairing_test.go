package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPairingSafetyCheck registers the recorder alone in a fencing level on
// the real cluster: its monitor (run by pacemaker-fenced with the device
// parameters only) must fail so crm_mon shows it failed, with the reason in
// the operational log. With the real device added to the level and the
// failure cleaned up, the same device starts.
//
// It has its own small lab (one real device, one recorder, discovery off)
// instead of setupLab, and creates the recorder the way docs/PACEMAKER.md
// recommends: --disabled, then the level, then enable.
func TestPairingSafetyCheck(t *testing.T) {
	claimLab(t)
	tmp := t.TempDir()
	logDir := filepath.Join(tmp, "log")
	cfg := filepath.Join(tmp, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("# e2e pairing: written by test/e2e\ndiscovery:\n  enabled: false\n"), 0o644))
	installAgent(t, false)
	startCluster(t, build.Root)

	const node = target
	must(t, "pcs", "stonith", "create", "realfence", "fence_dummy", "pcmk_host_list="+node)
	create := must(t, "pcs", "stonith", "create", "recorder", "fence_gfs2_recorder",
		"log_dir="+logDir, "config_file="+cfg, "pcmk_host_list="+node,
		"op", "monitor", "interval=5s", "--disabled")
	t.Logf("recorder created disabled:\n%s", create)

	// Alone in level 1: this level completes a fence with no real device.
	must(t, "pcs", "stonith", "level", "add", "1", node, "recorder", "--force")
	must(t, "pcs", "stonith", "enable", "recorder")
	failed := waitFor(60*time.Second, func() bool { return deviceFailed(t, "recorder") })
	mon := run(t, "", "crm_mon", "-1", "-r")
	t.Logf("recorder alone in level 1:\n%s", mon.stdout)
	require.True(t, failed, "recorder alone in a level must not be Started:\n%s", mon.stdout)
	assert.False(t, deviceStarted(t, "recorder"))
	op, err := os.ReadFile(filepath.Join(logDir, "fence-events.log"))
	require.NoError(t, err)
	assert.Contains(t, string(op), `recorder device \"recorder\" is alone in fencing level 1 for target `+node)
	assert.Contains(t, string(op), "safety.pairing_check: false")
	for _, l := range strings.Split(string(op), "\n") {
		if strings.Contains(l, "monitor check failed") {
			t.Logf("operational log: %s", l)
			break
		}
	}

	// Paired with the real device: the same recorder starts after cleanup.
	must(t, "pcs", "stonith", "level", "delete", "1", "target", node)
	must(t, "pcs", "stonith", "level", "add", "1", node, "recorder", "realfence", "--force")
	must(t, "pcs", "resource", "cleanup", "recorder")
	started := waitFor(60*time.Second, func() bool { return deviceStarted(t, "recorder") })
	mon = run(t, "", "crm_mon", "-1", "-r")
	t.Logf("recorder paired in level 1, after cleanup:\n%s", mon.stdout)
	require.True(t, started, "paired recorder must start:\n%s", mon.stdout)
}

// deviceFailed reports whether the stonith resource id is failed, or is
// stopped with a failed operation recorded (a failed start leaves it
// Stopped, banned from the node).
func deviceFailed(tb testing.TB, id string) bool {
	r := run(tb, "", "crm_mon", "-1", "--output-as=xml")
	if r.code != 0 {
		return false
	}
	return strings.Contains(r.stdout, `<resource id="`+id+`"`) && strings.Contains(r.stdout, `failed="true"`) ||
		strings.Contains(r.stdout, `<failure op_key="`+id+`_`)
}
