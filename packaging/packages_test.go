package packaging

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	packagesOnce sync.Once
	packagesDir  string
	packagesRoot string // make install DESTDIR from the same make run
	packagesErr  error
	packagesOut  string
)

// builtPackages runs `make packages install` once for all tests and returns
// the .deb and .rpm paths. One make run builds once, so the packages and the
// DESTDIR install (packagesRoot) hold the same binaries even while someone
// edits the sources.
func builtPackages(t *testing.T) (deb, rpm string) {
	t.Helper()
	packagesOnce.Do(func() {
		packagesDir, packagesErr = os.MkdirTemp(filepath.Dir(buildDir), "dist-")
		if packagesErr != nil {
			return
		}
		packagesRoot = filepath.Join(packagesDir, "root")
		var out []byte
		out, packagesErr = makeCmd("packages", "install", "DIST="+packagesDir, "DESTDIR="+packagesRoot)
		packagesOut = string(out)
	})
	require.NoError(t, packagesErr, packagesOut)
	find := func(glob string) string {
		m, err := filepath.Glob(filepath.Join(packagesDir, glob))
		require.NoError(t, err)
		require.Len(t, m, 1, "%s in %s", glob, packagesDir)
		return m[0]
	}
	return find("fence-gfs2-recorder_*.deb"), find("fence-gfs2-recorder-*.rpm")
}

// debianPackage names what provides each tool the packaging tests run.
var debianPackage = map[string]string{"dpkg": "dpkg", "dpkg-deb": "dpkg", "logrotate": "logrotate", "rpm": "rpm"}

func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("SKIP: %s not installed (apt-get install %s)", name, debianPackage[name])
	}
	return p
}

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return string(out)
}

// TestDebHasTheInstallLayout unpacks the .deb and compares it, path by path
// with modes and contents, to `make install` into an empty DESTDIR: the two
// ways to install must not drift apart. There is no documented difference.
func TestDebHasTheInstallLayout(t *testing.T) {
	dpkgDeb := tool(t, "dpkg-deb")
	deb, _ := builtPackages(t)

	unpacked := t.TempDir()
	output(t, dpkgDeb, "-x", deb, unpacked)
	fromDeb, fromMake := snapshot(t, unpacked), snapshot(t, packagesRoot)
	// dpkg-deb -x gives parents the umask's mode; the package itself says 0755.
	for p, n := range fromDeb {
		if _, ok := fromMake[p]; ok && n.Mode.IsDir() {
			fromDeb[p] = fromMake[p]
		}
	}
	assert.Empty(t, diffTrees(fromMake, fromDeb), "deb (+) versus make install (-)")

	// Modes as the package records them (independent of the umask).
	listing := output(t, dpkgDeb, "-c", deb)
	for _, want := range []string{
		"drwx------ root/root .*./var/cache/fence_gfs2_recorder/",
		"drwxr-x--- root/root .*./var/log/gfs2-fencing/",
		"-rwxr-xr-x root/root .*./usr/sbin/fence_gfs2_recorder",
	} {
		assert.Regexp(t, want, listing)
	}

	// Static: the package declares no libc dependency and must not need one.
	exe, err := elf.Open(filepath.Join(unpacked, "usr/sbin/fence_gfs2_recorder"))
	require.NoError(t, err)
	defer exe.Close()
	for _, p := range exe.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "the packaged agent is dynamically linked")
	}
	assert.Empty(t, strings.TrimSpace(output(t, dpkgDeb, "-f", deb, "Depends")))

	conffiles := output(t, dpkgDeb, "-I", deb, "conffiles")
	assert.Equal(t, []string{"/etc/fence_gfs2_recorder/config.yaml", "/etc/logrotate.d/fence_gfs2_recorder"}, sortedLines(conffiles))

	ctrl := t.TempDir()
	output(t, dpkgDeb, "-e", deb, ctrl)
	sameFile(t, filepath.Join(repoRoot, "packaging/scripts/postinstall.sh"), filepath.Join(ctrl, "postinst"))
	sameFile(t, filepath.Join(repoRoot, "packaging/scripts/preremove.sh"), filepath.Join(ctrl, "prerm"))
	assert.Equal(t, "fence-gfs2-recorder", strings.TrimSpace(output(t, dpkgDeb, "-f", deb, "Package")))
	// It installs /usr/sbin/fence_recorder, as NNF's Python agent does.
	assert.Equal(t, "fence-agents-recorder, fence-recorder", strings.TrimSpace(output(t, dpkgDeb, "-f", deb, "Conflicts")))
	assert.Equal(t, "fence_gfs2_recorder", fromDeb["usr/sbin/fence_recorder"].Link)
}

// TestRpmLayout checks the .rpm's files, modes, owners and config flags.
func TestRpmLayout(t *testing.T) {
	rpmTool := tool(t, "rpm")
	_, rpm := builtPackages(t)
	got := sortedLines(output(t, rpmTool, "-qp", "--qf", "[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]", rpm))
	want := []string{
		"drwxr-xr-x root:root  /etc/fence_gfs2_recorder",
		"-rw-r--r-- root:root cn /etc/fence_gfs2_recorder/config.yaml",
		"drwxr-xr-x root:root  /etc/fence_gfs2_recorder/plugins.d",
		"-rw-r--r-- root:root cn /etc/logrotate.d/fence_gfs2_recorder",
		"drwxr-xr-x root:root  /usr/lib/fence_gfs2_recorder",
		"drwxr-xr-x root:root  /usr/lib/fence_gfs2_recorder/plugins",
		"-rwxr-xr-x root:root  /usr/sbin/fence_gfs2_recorder",
		// nfpm records no permission bits for an rpm symlink; Linux
		// ignores a symlink's own mode.
		"l--------- root:root  /usr/sbin/fence_recorder",
		"drwxr-xr-x root:root  /usr/share/doc/fence-gfs2-recorder",
		"-rw-r--r-- root:root  /usr/share/doc/fence-gfs2-recorder/PLUGINS.md",
		"-rw-r--r-- root:root  /usr/share/doc/fence-gfs2-recorder/NNF.md",
		"-rw-r--r-- root:root  /usr/share/man/man8/fence_gfs2_recorder.8",
		"drwx------ root:root  /var/cache/fence_gfs2_recorder",
		"drwxr-x--- root:root  /var/log/gfs2-fencing",
	}
	for _, b := range builtins {
		want = append(want, "-rw-r--r-- root:root  /usr/lib/fence_gfs2_recorder/plugins/"+b+".wasm")
	}
	sort.Strings(want)
	assert.Equal(t, want, got)

	scripts := output(t, rpmTool, "-qp", "--scripts", rpm)
	assert.Contains(t, scripts, "postinstall scriptlet")
	assert.Contains(t, scripts, "plugins warm")
	assert.Contains(t, scripts, "preuninstall scriptlet")
}

func sortedLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, " "); strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}
