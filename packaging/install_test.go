package packaging

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/options"
)

// systemSkeleton are directories every target system already has; they are
// made before install so that "uninstall leaves the tree as it was" means
// what it means on a real machine.
var systemSkeleton = []string{"usr/sbin", "usr/lib", "usr/share/man/man8", "usr/share/doc", "etc/logrotate.d", "var/log", "var/cache"}

// builtins are the modules the Makefile builds (PLUGINS there): one, which
// serves every built-in strategy.
var builtins = []string{"builtin"}

func newDestdir(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range systemSkeleton {
		p := filepath.Join(root, d)
		require.NoError(t, os.MkdirAll(p, 0o755))
		require.NoError(t, os.Chmod(p, 0o755)) // whatever the umask
	}
	return root
}

// TestInstallLayout checks every path `make install` creates, with its mode,
// and that the installed agent is the one built from this tree.
func TestInstallLayout(t *testing.T) {
	root := newDestdir(t)
	out := mustMake(t, "install", "DESTDIR="+root)
	assert.NotContains(t, out, "plugins warm", "install must not run the agent when DESTDIR is set")

	want := map[string]os.FileMode{
		"usr/sbin/fence_gfs2_recorder":                 0o755,
		"usr/sbin/fence_recorder":                      os.ModeSymlink | 0o777,
		"usr/lib/fence_gfs2_recorder":                  os.ModeDir | 0o755,
		"usr/lib/fence_gfs2_recorder/plugins":          os.ModeDir | 0o755,
		"usr/share/man/man8/fence_gfs2_recorder.8":     0o644,
		"usr/share/doc/fence-gfs2-recorder":            os.ModeDir | 0o755,
		"usr/share/doc/fence-gfs2-recorder/PLUGINS.md": 0o644,
		"usr/share/doc/fence-gfs2-recorder/NNF.md":     0o644,
		"etc/fence_gfs2_recorder":                      os.ModeDir | 0o755,
		"etc/fence_gfs2_recorder/config.yaml":          0o644,
		"etc/fence_gfs2_recorder/plugins.d":            os.ModeDir | 0o755,
		"etc/logrotate.d/fence_gfs2_recorder":          0o644,
		"var/log/gfs2-fencing":                         os.ModeDir | 0o750,
		"var/cache/fence_gfs2_recorder":                os.ModeDir | 0o700,
	}
	for _, b := range builtins {
		want["usr/lib/fence_gfs2_recorder/plugins/"+b+".wasm"] = 0o644
	}
	before := map[string]node{}
	for _, d := range systemSkeleton {
		for p := d; p != "."; p = filepath.Dir(p) {
			before[p] = node{Mode: os.ModeDir | 0o755}
		}
	}
	got := snapshot(t, root)
	for p := range before {
		delete(got, p)
	}
	gotModes := map[string]os.FileMode{}
	for p, n := range got {
		gotModes[p] = n.Mode
	}
	assert.Equal(t, want, gotModes, "installed tree")

	sameFile(t, filepath.Join(repoRoot, "config/config.example.yaml"), filepath.Join(root, "etc/fence_gfs2_recorder/config.yaml"))
	sameFile(t, filepath.Join(repoRoot, "packaging/logrotate/fence_gfs2_recorder"), filepath.Join(root, "etc/logrotate.d/fence_gfs2_recorder"))
	sameFile(t, filepath.Join(buildDir, "man/fence_gfs2_recorder.8"), filepath.Join(root, "usr/share/man/man8/fence_gfs2_recorder.8"))
	sameFile(t, filepath.Join(repoRoot, "docs/PLUGINS.md"), filepath.Join(root, "usr/share/doc/fence-gfs2-recorder/PLUGINS.md"))
	sameFile(t, filepath.Join(repoRoot, "docs/NNF.md"), filepath.Join(root, "usr/share/doc/fence-gfs2-recorder/NNF.md"))
	for _, b := range builtins {
		sameFile(t, filepath.Join(buildDir, "plugins", b+".wasm"), filepath.Join(root, "usr/lib/fence_gfs2_recorder/plugins", b+".wasm"))
	}

	// The installed agent answers metadata from the same option table the
	// man page was generated from.
	var xml bytes.Buffer
	require.NoError(t, options.WriteMetadata(&xml))
	stdout, stderr, code := runAgent(t, filepath.Join(root, "usr/sbin/fence_gfs2_recorder"), agentEnv(""), "", "-o", "metadata")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, xml.String(), stdout)
}

// TestUninstallRestoresTheTree installs and uninstalls twice: once pristine,
// once after an administrator changed the config and dropped a site
// strategy. Only documented leftovers may remain.
func TestUninstallRestoresTheTree(t *testing.T) {
	root := newDestdir(t)
	before := snapshot(t, root)

	mustMake(t, "install", "DESTDIR="+root)
	// The agent fills the cache at run time; uninstall removes it with its content.
	cache := filepath.Join(root, "var/cache/fence_gfs2_recorder")
	require.NoError(t, os.MkdirAll(filepath.Join(cache, "wazero-v1.12.0-amd64-linux"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(cache, "wazero-v1.12.0-amd64-linux", "entry"), []byte("native code"), 0o600))
	// So does a fence: logs are the audit trail and stay.
	require.NoError(t, os.WriteFile(filepath.Join(root, "var/log/gfs2-fencing/fence-events.log"), []byte("a record\n"), 0o640))

	out := mustMake(t, "uninstall", "DESTDIR="+root)
	assert.Contains(t, out, "kept "+root+"/var/log/gfs2-fencing")
	assert.Equal(t, []string{
		"+ var/log/gfs2-fencing drwxr-x--- ",
		"+ var/log/gfs2-fencing/fence-events.log -rw-r----- " + snapshot(t, root)["var/log/gfs2-fencing/fence-events.log"].Hash,
	}, diffTrees(before, snapshot(t, root)), "after a pristine install + uninstall only the logs remain")

	// Second round: a changed config and a site strategy are the
	// administrator's; install keeps them and uninstall leaves them.
	require.NoError(t, os.RemoveAll(filepath.Join(root, "var/log/gfs2-fencing")))
	mustMake(t, "install", "DESTDIR="+root)
	cfg := filepath.Join(root, "etc/fence_gfs2_recorder/config.yaml")
	changed := []byte("# site settings\nverbose: true\n")
	require.NoError(t, os.WriteFile(cfg, changed, 0o644))
	site := filepath.Join(root, "etc/fence_gfs2_recorder/plugins.d/site-inventory.wasm")
	require.NoError(t, os.WriteFile(site, []byte("\x00asm site strategy"), 0o644))

	out = mustMake(t, "install", "DESTDIR="+root)
	assert.Contains(t, out, "keeping existing "+cfg)
	got, err := os.ReadFile(cfg)
	require.NoError(t, err)
	assert.Equal(t, changed, got, "a reinstall must not overwrite a changed config")

	out = mustMake(t, "uninstall", "DESTDIR="+root)
	assert.Contains(t, out, "keeping "+cfg+": it differs")
	after := snapshot(t, root)
	assert.Equal(t, []string{
		"+ etc/fence_gfs2_recorder drwxr-xr-x ",
		"+ etc/fence_gfs2_recorder/config.yaml -rw-r--r-- " + after["etc/fence_gfs2_recorder/config.yaml"].Hash,
		"+ etc/fence_gfs2_recorder/plugins.d drwxr-xr-x ",
		"+ etc/fence_gfs2_recorder/plugins.d/site-inventory.wasm -rw-r--r-- " + after["etc/fence_gfs2_recorder/plugins.d/site-inventory.wasm"].Hash,
		"+ var/log/gfs2-fencing drwxr-x--- ",
	}, diffTrees(before, after))
}

// TestInstallHonoursPrefix: sbin and lib move together, so the agent still
// finds its strategies at <exe dir>/../lib/fence_gfs2_recorder/plugins.
func TestInstallHonoursPrefix(t *testing.T) {
	root := t.TempDir()
	mustMake(t, "install", "DESTDIR="+root, "PREFIX=/usr/local")
	for _, p := range []string{"usr/local/sbin/fence_gfs2_recorder", "usr/local/lib/fence_gfs2_recorder/plugins/builtin.wasm",
		"usr/local/share/man/man8/fence_gfs2_recorder.8", "etc/fence_gfs2_recorder/config.yaml"} {
		assert.FileExists(t, filepath.Join(root, p))
	}
	assert.NoDirExists(t, filepath.Join(root, "usr/sbin"))
	mustMake(t, "uninstall", "DESTDIR="+root, "PREFIX=/usr/local")
	assert.NoFileExists(t, filepath.Join(root, "usr/local/sbin/fence_gfs2_recorder"))
	assert.NoDirExists(t, filepath.Join(root, "usr/local/lib/fence_gfs2_recorder"))
}

func sameFile(t *testing.T, want, got string) {
	t.Helper()
	a, err := os.ReadFile(want)
	require.NoError(t, err)
	b, err := os.ReadFile(got)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(a, b), "%s differs from %s", got, want)
	assert.NotEmpty(t, strings.TrimSpace(string(b)), "%s is empty", got)
}

// TestInstallReplacesFormerModules: before one module served every built-in
// strategy, each had its own .wasm. An install over such a tree removes
// them, so the lib directory holds only what the agent loads.
func TestInstallReplacesFormerModules(t *testing.T) {
	root := t.TempDir()
	lib := filepath.Join(root, "usr/lib/fence_gfs2_recorder/plugins")
	require.NoError(t, os.MkdirAll(lib, 0o755))
	former := []string{"kubectl-nnf.wasm", "pcs-status.wasm", "pcs-config.wasm"}
	for _, f := range former {
		require.NoError(t, os.WriteFile(filepath.Join(lib, f), []byte("\x00asm old"), 0o644))
	}
	mustMake(t, "install", "DESTDIR="+root)
	entries, err := os.ReadDir(lib)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"builtin.wasm"}, names)
}

// The fence_recorder symlink makes the agent a drop-in for NNF's agent; an
// existing fence_recorder that is not ours is kept, and uninstall removes
// only our link.
func TestInstallFenceRecorderLink(t *testing.T) {
	root := newDestdir(t)
	mustMake(t, "install", "DESTDIR="+root)
	link := filepath.Join(root, "usr/sbin/fence_recorder")
	target, err := os.Readlink(link)
	require.NoError(t, err)
	assert.Equal(t, "fence_gfs2_recorder", target, "relative, so DESTDIR and PREFIX do not matter")
	mustMake(t, "uninstall", "DESTDIR="+root)
	_, err = os.Lstat(link)
	assert.ErrorIs(t, err, os.ErrNotExist)

	root = newDestdir(t)
	foreign := []byte("#!/usr/bin/python3\n# another fence_recorder\n")
	require.NoError(t, os.WriteFile(filepath.Join(root, "usr/sbin/fence_recorder"), foreign, 0o755))
	out := mustMake(t, "install", "DESTDIR="+root)
	assert.Contains(t, out, "another fence_recorder is installed")
	got, err := os.ReadFile(filepath.Join(root, "usr/sbin/fence_recorder"))
	require.NoError(t, err)
	assert.Equal(t, foreign, got)
	mustMake(t, "uninstall", "DESTDIR="+root)
	assert.FileExists(t, filepath.Join(root, "usr/sbin/fence_recorder"))
}
