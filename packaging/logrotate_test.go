package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var auditLogs = []string{"fence-events.log", "fence-events-readable.log", "fence-events-detailed.jsonl"}

// TestLogrotateRotatesTheAuditTrail runs the real logrotate on the shipped
// file, pointed at a temporary log directory: all three logs rotate by
// rename (no copytruncate), and new ones are created for the next fence.
func TestLogrotateRotatesTheAuditTrail(t *testing.T) {
	logrotate := tool(t, "logrotate")
	shipped, err := os.ReadFile(filepath.Join(repoRoot, "packaging/logrotate/fence_gfs2_recorder"))
	require.NoError(t, err)
	conf := string(shipped)
	for _, name := range auditLogs {
		require.Contains(t, conf, "/var/log/gfs2-fencing/"+name+"\n", "the shipped file must name %s", name)
	}
	assert.NotRegexp(t, `(?m)^\s*copytruncate`, conf, "the agent reopens its files each run")
	assert.Regexp(t, `(?m)^\s*rotate 52$`, conf, "a year of weekly files: it is an audit trail")

	dir := t.TempDir()
	logDir := filepath.Join(dir, "gfs2-fencing")
	require.NoError(t, os.Mkdir(logDir, 0o750))
	conf = strings.ReplaceAll(conf, "/var/log/gfs2-fencing/", logDir+"/")
	if os.Geteuid() != 0 {
		// "create 0640 root root" needs root; check the syntax only.
		out, err := exec.Command(logrotate, "-d", "-s", filepath.Join(dir, "state"), writeConf(t, dir, conf)).CombinedOutput()
		require.NoError(t, err, "%s", out)
		t.Skip("SKIP: not root: logrotate syntax checked with -d, rotation not run")
	}
	for _, name := range auditLogs {
		require.NoError(t, os.WriteFile(filepath.Join(logDir, name), []byte("record of "+name+"\n"), 0o640))
	}
	out, err := exec.Command(logrotate, "-f", "-v", "-s", filepath.Join(dir, "state"), writeConf(t, dir, conf)).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.NotContains(t, string(out), "error:", "%s", out)

	for _, name := range auditLogs {
		rotated, err := filepath.Glob(filepath.Join(logDir, name+"-*"))
		require.NoError(t, err)
		require.Len(t, rotated, 1, "%s rotated once (dateext, compressed only from the next rotation)", name)
		b, err := os.ReadFile(rotated[0])
		require.NoError(t, err)
		assert.Equal(t, "record of "+name+"\n", string(b), "rotated by rename, content intact")
		fresh, err := os.Stat(filepath.Join(logDir, name))
		require.NoError(t, err, "a new %s is created for the next fence", name)
		assert.Zero(t, fresh.Size())
		assert.Equal(t, os.FileMode(0o640), fresh.Mode().Perm())
	}
}

func writeConf(t *testing.T, dir, conf string) string {
	t.Helper()
	p := filepath.Join(dir, "fence_gfs2_recorder.logrotate")
	require.NoError(t, os.WriteFile(p, []byte(conf), 0o644))
	return p
}
