package packaging

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/options"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record/recordtest"
	"github.com/NearNodeFlash/fence-gfs2-recorder/test/harness"
)

const (
	pkgName   = "fence-gfs2-recorder"
	sysAgent  = "/usr/sbin/fence_gfs2_recorder"
	sysLogDir = "/var/log/gfs2-fencing"
	sysCache  = "/var/cache/fence_gfs2_recorder"
)

// TestDebInstallRunRemovePurge installs the .deb on this machine, runs the
// agent the ways Pacemaker does, and removes it: `dpkg -r` must leave only
// the configuration and the logs, `dpkg -P` only the logs. It needs root and
// a machine where nothing else owns the agent's paths; it restores what it
// found.
func TestDebInstallRunRemovePurge(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP (needs root): the .deb round trip installs into /usr/sbin, /etc and /var; run `sudo go test ./packaging/ -run Deb`")
	}
	dpkg := tool(t, "dpkg")
	// test/e2e holds the lab lock while it puts its own agent under
	// /usr/sbin: taking it too means the two never install over each other.
	harness.Lock(t, harness.LabLock, "an e2e run")
	if st := pkgStatus(t); st != "" {
		t.Skipf("SKIP: %s is already known to dpkg (%q); not touching an installation this test did not make", pkgName, st)
	}
	for _, p := range []string{sysAgent, "/usr/lib/fence_gfs2_recorder", "/etc/fence_gfs2_recorder", "/etc/logrotate.d/fence_gfs2_recorder"} {
		if _, err := os.Lstat(p); err == nil {
			t.Skipf("SKIP: %s exists and no package owns it (a manual or e2e install?); not overwriting it", p)
		}
	}
	_, logDirErr := os.Stat(sysLogDir)
	logDirExisted := logDirErr == nil
	deb, _ := builtPackages(t)

	// Whatever happens below, leave the machine as it was.
	t.Cleanup(func() {
		if pkgStatus(t) != "" {
			out, err := exec.Command(dpkg, "-P", pkgName).CombinedOutput()
			if err != nil {
				t.Errorf("cleanup dpkg -P: %v\n%s", err, out)
			}
		}
		if !logDirExisted {
			os.RemoveAll(sysLogDir)
		}
	})

	out := output(t, dpkg, "-i", deb)
	assert.NotContains(t, out, "warning", "postinst must warm the cache without complaint:\n%s", out)
	assert.Equal(t, "install ok installed", pkgStatus(t))
	owned := strings.Fields(output(t, dpkg, "-L", pkgName))
	require.Contains(t, owned, sysAgent)

	// The cache holds native code run as root: root only, and warm filled it.
	fi, err := os.Stat(sysCache)
	require.NoError(t, err)
	assert.Equal(t, os.ModeDir|0o700, fi.Mode())
	assert.Equal(t, uint32(0), fi.Sys().(*syscall.Stat_t).Uid)
	entries, err := os.ReadDir(sysCache)
	require.NoError(t, err)
	assert.NotEmpty(t, entries, "postinst ran `plugins warm`: the cache holds compiled strategies")

	env := agentEnv("") // the installed /etc/fence_gfs2_recorder/config.yaml

	// metadata: what pacemaker-controld reads, from the same table as the man page.
	var xml bytes.Buffer
	require.NoError(t, options.WriteMetadata(&xml))
	stdout, stderr, code := runAgent(t, sysAgent, env, "", "-o", "metadata")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, xml.String(), stdout)

	// monitor, as fenced sends it (no target): loads every configured strategy
	// from the installed layout.
	_, stderr, code = runAgent(t, sysAgent, env, "action=monitor\n")
	assert.Equal(t, 0, code, "monitor: %s", stderr)
	_, stderr, code = runAgent(t, sysAgent, env, "", "-o", "monitor")
	assert.Equal(t, 0, code, "-o monitor: %s", stderr)

	// A reboot exactly as pacemaker-fenced sends it (fenced-stdin-examples.txt §1).
	start := time.Now()
	stdin := "nodename=compute-node-4\naction=reboot\nport=compute-node-4\nsome_param=value\n"
	_, stderr, code = runAgent(t, sysAgent, env, stdin)
	require.Equal(t, 0, code, "reboot: %s", stderr)
	rec := lastRecord(t, sysLogDir)
	assert.Equal(t, "reboot", rec.Action)
	assert.Equal(t, "compute-node-4", rec.TargetNode)
	assert.NotEmpty(t, rec.GFS2Filesystems)
	var strategies []string
	for _, a := range rec.Discovery.Attempts {
		strategies = append(strategies, a.Strategy)
		assert.NotEqual(t, "load-error", a.Outcome, "strategy %s must load from the installed layout: %s", a.Strategy, a.Error)
	}
	assert.Equal(t, []string{"kubectl-nnf", "pcs-status", "pcs-config"}, strategies)
	t.Logf("reboot recorded in %v: gfs2_filesystems=%v", time.Since(start).Round(time.Millisecond), rec.GFS2Filesystems)
	for _, name := range auditLogs {
		assert.FileExists(t, filepath.Join(sysLogDir, name))
	}

	// The man page is where man looks for it.
	if manPath, err := exec.LookPath("man"); err == nil {
		where := strings.TrimSpace(output(t, manPath, "-w", "fence_gfs2_recorder"))
		assert.Equal(t, "/usr/share/man/man8/fence_gfs2_recorder.8", where)
	}

	// Reinstall (the upgrade path): an edited config is a conffile and is
	// kept; prerm "upgrade" empties the cache and postinst warms it again.
	const cfg = "/etc/fence_gfs2_recorder/config.yaml"
	orig, err := os.ReadFile(cfg)
	require.NoError(t, err)
	edited := append(orig, "\n# edited by the site\n"...)
	require.NoError(t, os.WriteFile(cfg, edited, 0o644))
	out = output(t, dpkg, "-i", deb)
	assert.NotContains(t, out, "warning", out)
	got, err := os.ReadFile(cfg)
	require.NoError(t, err)
	assert.Equal(t, string(edited), string(got), "dpkg -i must keep an edited conffile")
	entries, err = os.ReadDir(sysCache)
	require.NoError(t, err)
	assert.NotEmpty(t, entries, "postinst warmed the cache again")

	// The same scripts serve the rpm, whose arguments differ: preun 1 is an
	// upgrade after the new post already warmed the cache (leave it); post 2
	// is an upgrade (re-secure the cache dir, warm).
	output(t, "sh", filepath.Join(repoRoot, "packaging/scripts/preremove.sh"), "1")
	entries, err = os.ReadDir(sysCache)
	require.NoError(t, err)
	assert.NotEmpty(t, entries, "rpm upgrade: preun 1 must not empty the freshly warmed cache")
	require.NoError(t, os.Chmod(sysCache, 0o755))
	require.FileExists(t, sysAgent, "removed behind dpkg's back: another test installing under /usr/sbin without %s?", harness.LabLock)
	out = output(t, "sh", filepath.Join(repoRoot, "packaging/scripts/postinstall.sh"), "2")
	assert.NotContains(t, out, "warning", out)
	fi, err = os.Stat(sysCache)
	require.NoError(t, err)
	assert.Equal(t, os.ModeDir|0o700, fi.Mode(), "post-install re-secures a loosened cache dir")

	// dpkg -r: the program goes, the configuration and the audit trail stay.
	output(t, dpkg, "-r", pkgName)
	assert.Equal(t, "deinstall ok config-files", pkgStatus(t))
	kept := map[string]bool{
		"/etc/fence_gfs2_recorder":             true,
		"/etc/fence_gfs2_recorder/config.yaml": true,
		"/etc/logrotate.d/fence_gfs2_recorder": true,
		sysLogDir:                              true,
	}
	for _, p := range owned {
		if kept[p] || isSharedDir(p) {
			continue
		}
		assert.NoFileExists(t, p, "dpkg -r left %s", p)
		assert.NoDirExists(t, p, "dpkg -r left %s", p)
	}
	for p := range kept {
		_, err := os.Stat(p)
		assert.NoError(t, err, "dpkg -r must keep %s", p)
	}
	assert.NoDirExists(t, sysCache, "prerm empties the cache so dpkg can remove it")
	assert.FileExists(t, filepath.Join(sysLogDir, "fence-events-detailed.jsonl"))

	// dpkg -P: the configuration goes too; the audit trail is never removed.
	output(t, dpkg, "-P", pkgName)
	assert.Equal(t, "", pkgStatus(t))
	for _, p := range owned {
		if p == sysLogDir || isSharedDir(p) {
			continue
		}
		_, err := os.Lstat(p)
		assert.True(t, errors.Is(err, os.ErrNotExist), "dpkg -P left %s", p)
	}
	assert.FileExists(t, filepath.Join(sysLogDir, "fence-events-detailed.jsonl"), "purge keeps the audit trail")
}

// isSharedDir: directories other packages own too (dpkg -L lists every parent).
func isSharedDir(p string) bool {
	switch p {
	case "/.", "/etc", "/etc/logrotate.d", "/usr", "/usr/lib", "/usr/sbin", "/usr/share", "/usr/share/doc",
		"/usr/share/man", "/usr/share/man/man8", "/var", "/var/cache", "/var/log":
		return true
	}
	return false
}

// pkgStatus is dpkg's status of the package, "" when dpkg does not know it.
func pkgStatus(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", pkgName).Output()
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(out))
	if s == "unknown ok not-installed" {
		return ""
	}
	return s
}

// record is the part of a fence-events-detailed.jsonl line this test reads.
type record struct {
	Action          string   `json:"action"`
	TargetNode      string   `json:"target_node"`
	GFS2Filesystems []string `json:"gfs2_filesystems"`
	Discovery       struct {
		Attempts []struct {
			Strategy string `json:"strategy"`
			Outcome  string `json:"outcome"`
			Error    string `json:"error"`
		} `json:"attempts"`
	} `json:"discovery"`
}

// lastRecord is the newest record in dir's detailed log.
func lastRecord(t *testing.T, dir string) record {
	t.Helper()
	recs := recordtest.Read[record](t, dir)
	require.NotEmpty(t, recs, "%s has no record", dir)
	return recs[len(recs)-1]
}
