package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One typo in the file costs that key, not the file: its log_dir holds, and
// every dropped key is reported with its layer.
func TestDiscardInvalidDropsOnlyTheBadKeys(t *testing.T) {
	path := writeYAML(t, "log_dir: /srv/fence-log\ndelay: soon\ndiscovery: {budget: -1s, ordr: [x]}\nhosts: [a, b]\n")
	l, err := Load(LoadOptions{File: path, DiscardInvalid: true})
	require.Error(t, err)
	require.NotNil(t, l)
	assert.Equal(t, "/srv/fence-log", l.Config.LogDir)
	assert.Equal(t, []string{"a", "b"}, l.Config.Hosts)
	assert.Equal(t, time.Duration(0), l.Config.Delay)
	assert.Equal(t, DefaultBudget, l.Config.Discovery.Budget)
	src := " (from file:" + path + ")"
	assert.Equal(t, `delay: "soon" is not a duration`+src+`; `+
		`discovery.budget: -1s must be positive`+src+`; `+
		`discovery.ordr: unknown key (did you mean "order"?)`+src, err.Error())
	assert.Equal(t, "default", l.Sources["delay"])

	// Without DiscardInvalid the same file fails as a whole.
	_, err = Load(LoadOptions{File: path})
	require.Error(t, err)
}

// A dropped key of the environment falls back to the file's value.
func TestDiscardInvalidFallsBackToTheLowerLayer(t *testing.T) {
	path := writeYAML(t, "discovery: {budget: 7s}\n")
	l, err := Load(LoadOptions{File: path, DiscardInvalid: true,
		Environ: []string{"FENCE_GFS2_RECORDER_DISCOVERY__BUDGET=5x"}})
	require.Error(t, err)
	require.NotNil(t, l)
	assert.Equal(t, 7*time.Second, l.Config.Discovery.Budget)
	assert.Equal(t, "file:"+path, l.Sources["discovery.budget"])
}

// A file that does not parse, or a bad value of the option layer, still
// fails the whole load: the agent has its own fallback for both.
func TestDiscardInvalidStillFailsOnSyntaxAndOptions(t *testing.T) {
	l, err := Load(LoadOptions{File: writeYAML(t, "log_dir: [unclosed\n"), DiscardInvalid: true})
	require.Error(t, err)
	assert.Nil(t, l)
	l, err = Load(LoadOptions{DiscardInvalid: true, Overrides: map[string]any{"log_dir": "relative"}, OverrideLayer: SourceStdin})
	require.Error(t, err)
	assert.Nil(t, l)
}

func TestStdinPathsStayOutOfSystemTrees(t *testing.T) {
	for _, tc := range []struct {
		key, value, want string
	}{
		{"log_dir", "/etc", `log_dir: "/etc" is under /etc, where a path from stdin may not point (allow it in the configuration file with allowed_stdin_paths: [/etc]) (from stdin)`},
		{"log_dir", "/etc/sudoers.d", `log_dir: "/etc/sudoers.d" is under /etc, where a path from stdin may not point (allow it in the configuration file with allowed_stdin_paths: [/etc/sudoers.d]) (from stdin)`},
		{"log_dir", "/var/log/../../usr/x", `log_dir: "/var/log/../../usr/x" contains '..' (from stdin)`},
		{"log_dir", "/proc/self/root/tmp/x", `log_dir: "/proc/self/root/tmp/x" is under /proc`},
		{"plugin_dir", "/sys/kernel", `plugin_dir: "/sys/kernel" is under /sys`},
		{"commands.kubectl.path", "/dev/shm/kubectl", `commands.kubectl.path: "/dev/shm/kubectl" is under /dev`},
	} {
		msg := loadErr(t, LoadOptions{Overrides: map[string]any{tc.key: tc.value}, OverrideLayer: SourceStdin})
		assert.Contains(t, msg, tc.want, tc.value)
	}
	// The same values from argv (root at a shell) or the file are fine.
	mustLoad(t, LoadOptions{Overrides: map[string]any{"log_dir": "/etc/x"}, OverrideLayer: SourceArgv})
	mustLoad(t, LoadOptions{File: writeYAML(t, "log_dir: /etc/x\n")})
	// Programs and plugins under /usr and /etc are where they live.
	mustLoad(t, LoadOptions{Overrides: map[string]any{"commands.kubectl.path": "/usr/bin/kubectl",
		"plugin_dir": "/etc/fence_gfs2_recorder/plugins.d"}, OverrideLayer: SourceStdin})
	// The file may allow a prefix.
	l := mustLoad(t, LoadOptions{File: writeYAML(t, "allowed_stdin_paths: [/etc/gfs2-fencing]\n"),
		Overrides: map[string]any{"log_dir": "/etc/gfs2-fencing/log"}, OverrideLayer: SourceStdin})
	assert.Equal(t, "/etc/gfs2-fencing/log", l.Config.LogDir)
}

// A link into a system tree counts as the tree.
func TestStdinPathThroughALinkIsJudgedWhereItLeads(t *testing.T) {
	link := filepath.Join(t.TempDir(), "to-etc")
	require.NoError(t, os.Symlink("/etc", link))
	msg := loadErr(t, LoadOptions{Overrides: map[string]any{"log_dir": filepath.Join(link, "new")}, OverrideLayer: SourceStdin})
	assert.Contains(t, msg, "(/etc/new once its links are resolved) is under /etc")
}

func TestStdinConfigFileStaysOutOfProc(t *testing.T) {
	msg := loadErr(t, LoadOptions{File: "/proc/self/environ", OverrideLayer: SourceStdin})
	assert.Contains(t, msg, `config file "/proc/self/environ" is under /proc`)
	msg = loadErr(t, LoadOptions{File: "config.yaml", OverrideLayer: SourceStdin})
	assert.Contains(t, msg, "not an absolute path")
}

// A YAML null where a value belongs is an error (the decoder would leave it
// alone); a null section only declares the section.
func TestNullValuesAreErrors(t *testing.T) {
	for yaml, want := range map[string]string{
		"delay: null": `delay: null is not a duration`,
		"hosts: ~":    `hosts: null is not a list`,
		"commands: {lfs: {path: /x, set_env: {A: ~}}}": `commands.lfs.set_env.A: null is not a string`,
		"strategies: {site: {file: ~}}":                `strategies.site.file: null is not a string`,
	} {
		assert.Contains(t, loadErr(t, LoadOptions{File: writeYAML(t, yaml+"\n")}), want, yaml)
	}
	mustLoad(t, LoadOptions{File: writeYAML(t, "discovery: ~\nstrategies: {kubectl-nnf: ~}\n")})
}
