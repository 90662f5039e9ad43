package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests never read /etc: the default file path points into a temp dir
// that holds no file unless a test writes one. Tests do not run in
// parallel because of this package variable.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "config-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defaultFile = filepath.Join(dir, "config.yaml")
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func writeYAML(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func mustLoad(t *testing.T, opts LoadOptions) *Loaded {
	t.Helper()
	l, err := Load(opts)
	require.NoError(t, err)
	require.NotNil(t, l)
	return l
}

// loadErr loads and returns the error text, failing if there is none.
func loadErr(t *testing.T, opts LoadOptions) string {
	t.Helper()
	l, err := Load(opts)
	require.Error(t, err)
	assert.Nil(t, l)
	return err.Error()
}

func TestNoFileNoEnvIsDefaults(t *testing.T) {
	l := mustLoad(t, LoadOptions{})
	assert.Equal(t, Defaults(), l.Config)
	assert.Empty(t, l.File)
	assert.Empty(t, l.Warnings)
	require.NotEmpty(t, l.Sources)
	for key, src := range l.Sources {
		assert.Equal(t, SourceDefault, src, key)
	}
}

func TestDefaultFileIsReadWhenPresent(t *testing.T) {
	require.NoError(t, os.WriteFile(defaultFile, []byte("verbose: true\n"), 0o600))
	t.Cleanup(func() { _ = os.Remove(defaultFile) })
	l := mustLoad(t, LoadOptions{})
	assert.True(t, l.Config.Verbose)
	assert.Equal(t, defaultFile, l.File)
	assert.Equal(t, "file:"+defaultFile, l.Sources["verbose"])
	assert.Equal(t, SourceDefault, l.Sources["log_dir"])
}

func TestMissingExplicitFileIsAnError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	assert.Equal(t, "config file "+missing+": does not exist", loadErr(t, LoadOptions{File: missing}))
	// Named by the environment, it was asked for just as much.
	assert.Equal(t, "config file "+missing+": does not exist",
		loadErr(t, LoadOptions{Environ: []string{EnvConfigFile + "=" + missing}}))
}

func TestFileChosenByEnvAndOption(t *testing.T) {
	fromEnv := writeYAML(t, "log_dir: /from/env-file\n")
	fromOpt := writeYAML(t, "log_dir: /from/option-file\n")

	l := mustLoad(t, LoadOptions{Environ: []string{EnvConfigFile + "=" + fromEnv}})
	assert.Equal(t, "/from/env-file", l.Config.LogDir)
	assert.Equal(t, "file:"+fromEnv, l.Sources["log_dir"])

	l = mustLoad(t, LoadOptions{File: fromOpt, Environ: []string{EnvConfigFile + "=" + fromEnv}})
	assert.Equal(t, "/from/option-file", l.Config.LogDir)

	// An empty variable is unset: the default file, absent here, is fine.
	l = mustLoad(t, LoadOptions{Environ: []string{EnvConfigFile + "="}})
	assert.Empty(t, l.File)
}

func TestFileLayerAndPartialSections(t *testing.T) {
	path := writeYAML(t, `
log_dir: /srv/fence-log
recorder_node: rabbit-0
hosts: [compute-node-1, compute-node-2]
delay: 3
discovery:
  order: pcs-status, pcs-config
  budget: 1m30s
  mode: deferred
commands:
  kubectl:
    args: [--kubeconfig, /etc/kubernetes/admin.conf]
    set_env: {KUBECONFIG: /etc/kubernetes/admin.conf}
    output_cap: 1MiB
strategies:
  kubectl-nnf:
    config:
      kubeconfig: /etc/kubernetes/admin.conf
      retries: 2
      selectors: {tier: gfs2}
`)
	l := mustLoad(t, LoadOptions{File: path})
	c := l.Config
	src := "file:" + path

	assert.Equal(t, "/srv/fence-log", c.LogDir)
	assert.Equal(t, "rabbit-0", c.RecorderNode)
	assert.Equal(t, []string{"compute-node-1", "compute-node-2"}, c.Hosts)
	assert.Equal(t, 3*time.Second, c.Delay)
	assert.Equal(t, []string{StrategyPcsStatus, StrategyPcsConfig}, c.Discovery.Order)
	assert.Equal(t, 90*time.Second, c.Discovery.Budget)
	assert.Equal(t, ModeDeferred, c.Discovery.Mode)

	kubectl := c.Commands["kubectl"]
	assert.Equal(t, []string{"--kubeconfig", "/etc/kubernetes/admin.conf"}, kubectl.Args)
	assert.Equal(t, map[string]string{"KUBECONFIG": "/etc/kubernetes/admin.conf"}, kubectl.SetEnv)
	assert.Equal(t, int64(MiB), kubectl.OutputCap)
	// The rest of the section keeps its defaults.
	assert.Equal(t, "/usr/bin/kubectl", kubectl.Path)
	assert.Equal(t, DefaultStrategyTimeout, kubectl.Timeout)
	assert.Equal(t, []string{"KUBECONFIG", "HOME"}, kubectl.Env)

	nnf := c.Strategies[StrategyKubectlNNF]
	assert.Equal(t, map[string]any{
		"cache_dir":  DefaultKubectlCacheDir, // a default key the file did not set
		"kubeconfig": "/etc/kubernetes/admin.conf",
		"retries":    2,
		"selectors":  map[string]any{"tier": "gfs2"},
	}, nnf.Config)
	assert.Equal(t, DefaultStrategyTimeout, nnf.Timeout)
	assert.Equal(t, int64(DefaultMemoryLimit), nnf.MemoryLimit)
	assert.Equal(t, []string{"kubectl"}, nnf.Allow)

	for key, want := range map[string]string{
		"log_dir":                                      src,
		"discovery.order":                              src,
		"commands.kubectl.args":                        src,
		"commands.kubectl.set_env.KUBECONFIG":          src,
		"strategies.kubectl-nnf.config.retries":        src,
		"strategies.kubectl-nnf.config.selectors.tier": src,
		"commands.kubectl.path":                        SourceDefault,
		"strategies.kubectl-nnf.timeout":               SourceDefault,
		"discovery.enabled":                            SourceDefault,
	} {
		assert.Equal(t, want, l.Sources[key], key)
	}
	// Sections the file does not name are untouched.
	assert.Equal(t, Defaults().Strategies[StrategyPcsStatus], c.Strategies[StrategyPcsStatus])
}

func TestSiteStrategyDeclaredInFile(t *testing.T) {
	path := writeYAML(t, `
discovery:
  order: [site-lustre, kubectl-nnf, site-bare]
strategies:
  site-lustre:
    file: /opt/site/lustre.wasm
    allow: [pcs]
  site-bare:
`)
	l := mustLoad(t, LoadOptions{File: path})
	st := l.Config.Strategies["site-lustre"]
	assert.Equal(t, "/opt/site/lustre.wasm", st.File)
	assert.Equal(t, []string{"pcs"}, st.Allow)
	// A new section gets the default sandbox.
	assert.Equal(t, DefaultStrategyTimeout, st.Timeout)
	assert.Equal(t, int64(DefaultMemoryLimit), st.MemoryLimit)
	assert.Equal(t, map[string]any{}, st.Config)
	assert.Equal(t, SourceDefault, l.Sources["strategies.site-lustre.timeout"])
	assert.Equal(t, "file:"+path, l.Sources["strategies.site-lustre.file"])
	// A bare section header declares the strategy with every default.
	assert.Equal(t, newStrategy(), l.Config.Strategies["site-bare"])
}

func TestStrategyDroppedIntoPluginDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "site-x.wasm"), []byte("\x00asm"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "site-dir.wasm"), 0o755))

	l := mustLoad(t, LoadOptions{Overrides: map[string]any{"plugin_dir": dir},
		Environ: []string{EnvPrefix + "DISCOVERY__ORDER=site-x,pcs-status"}})
	assert.Equal(t, []string{"site-x", StrategyPcsStatus}, l.Config.Discovery.Order)

	msg := loadErr(t, LoadOptions{Overrides: map[string]any{"plugin_dir": dir},
		Environ: []string{EnvPrefix + "DISCOVERY__ORDER=site-y,site-dir"}})
	assert.Contains(t, msg, `discovery.order: unknown strategy "site-dir"`)
	assert.Contains(t, msg, `discovery.order: unknown strategy "site-y" (known: kubectl-nnf, pcs-config, pcs-status; or add strategies.site-y.file, or drop `+filepath.Join(dir, "site-y.wasm")+`) (from env:FENCE_GFS2_RECORDER_DISCOVERY__ORDER)`)
}

// The reference shell agent read these names; sites already set them.
func TestReferenceAgentEnvNames(t *testing.T) {
	l := mustLoad(t, LoadOptions{Environ: []string{
		"GFS2_DISCOVERY_ENABLED=no",
		"KUBECTL_CMD=/usr/local/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf",
		"PCS_CMD=/opt/pacemaker/sbin/pcs",
		"LOG_DIR=/var/log/site-fencing",
	}})
	c := l.Config
	assert.False(t, c.Discovery.Enabled)
	assert.Equal(t, "/usr/local/bin/kubectl", c.Commands["kubectl"].Path)
	assert.Equal(t, []string{"--kubeconfig", "/etc/kubernetes/admin.conf"}, c.Commands["kubectl"].Args)
	assert.Equal(t, "/opt/pacemaker/sbin/pcs", c.Commands["pcs"].Path)
	assert.Equal(t, []string{}, c.Commands["pcs"].Args)
	assert.Equal(t, "/var/log/site-fencing", c.LogDir)
	for key, want := range map[string]string{
		"discovery.enabled":     "env:GFS2_DISCOVERY_ENABLED",
		"commands.kubectl.path": "env:KUBECTL_CMD",
		"commands.kubectl.args": "env:KUBECTL_CMD",
		"commands.pcs.path":     "env:PCS_CMD",
		"commands.pcs.args":     SourceDefault,
		"log_dir":               "env:LOG_DIR",
	} {
		assert.Equal(t, want, l.Sources[key], key)
	}

	// An empty legacy variable counts as unset.
	l = mustLoad(t, LoadOptions{Environ: []string{"KUBECTL_CMD=", "LOG_DIR="}})
	assert.Equal(t, Defaults(), l.Config)
}

func TestBareCommandNameIsResolvedWithEnvironPATH(t *testing.T) {
	bin := t.TempDir()
	kubectl := filepath.Join(bin, "kubectl")
	require.NoError(t, os.WriteFile(kubectl, []byte("#!/bin/sh\n"), 0o755))
	notExec := filepath.Join(bin, "pcs")
	require.NoError(t, os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644))

	// The relative PATH entry "." must never be used, even when it has
	// the program: the working directory would decide what runs.
	cwd := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(cwd, "pcs"), []byte("#!/bin/sh\n"), 0o755))
	t.Chdir(cwd)

	l := mustLoad(t, LoadOptions{Environ: []string{
		"PATH=.:" + filepath.Join(bin, "missing") + ":" + bin,
		"KUBECTL_CMD=kubectl --context rabbit",
		"PCS_CMD=pcs",
	}})
	assert.Equal(t, kubectl, l.Config.Commands["kubectl"].Path)
	assert.Equal(t, []string{"--context", "rabbit"}, l.Config.Commands["kubectl"].Args)
	// pcs was not found (not executable in bin, "." ignored): the config
	// stays valid so a fence is still recorded, with a warning.
	assert.Equal(t, "pcs", l.Config.Commands["pcs"].Path)
	assert.Equal(t, []string{`commands.pcs.path: "pcs" not found in PATH; strategies that run it will fail`}, l.Warnings)
	assert.NoError(t, l.Config.Validate())
}

func TestRelativeCommandPathIsInvalid(t *testing.T) {
	assert.Equal(t, `commands.kubectl.path: "./kubectl" is not an absolute path (from env:KUBECTL_CMD)`,
		loadErr(t, LoadOptions{Environ: []string{"KUBECTL_CMD=./kubectl"}}))
	assert.Equal(t, `commands.pcs.path: "sbin/pcs" is not an absolute path (from stdin)`,
		loadErr(t, LoadOptions{Overrides: map[string]any{"commands.pcs.path": "sbin/pcs"}, OverrideLayer: SourceStdin}))
}

func TestPrefixedEnv(t *testing.T) {
	dir := t.TempDir()
	l := mustLoad(t, LoadOptions{Environ: []string{
		"PATH=" + dir,
		EnvPrefix + "LOG_DIR=/x/log",
		EnvPrefix + "HOSTS=compute-node-1, compute-node-2",
		EnvPrefix + "VERBOSE=On",
		EnvPrefix + "DELAY=2.5",
		EnvPrefix + "DISCOVERY__ORDER=pcs-status,pcs-config",
		EnvPrefix + "DISCOVERY__BUDGET=20s",
		EnvPrefix + "SAFETY__PAIRING_CHECK=off",
		EnvPrefix + "STRATEGIES__KUBECTL_NNF__MEMORY_LIMIT=128MiB",
		EnvPrefix + "STRATEGIES__KUBECTL_NNF__CONFIG__NAMESPACE=nnf-system",
		EnvPrefix + "STRATEGIES__PCS_STATUS__ALLOW=crm_mon",
		EnvPrefix + "STRATEGIES__SITE_LUSTRE__FILE=/opt/site/lustre.wasm",
		EnvPrefix + "COMMANDS__CRM_MON__TIMEOUT=2",
		EnvPrefix + "COMMANDS__KUBECTL__SET_ENV__KUBECONFIG=/etc/k.conf",
		EnvPrefix + "COMMANDS__KUBECTL__OUTPUT_CAP=16M",
		EnvPrefix + "COMMANDS__KUBECTL__PATH=/opt/k/kubectl --request-timeout 3s",
	}})
	c := l.Config
	assert.Equal(t, "/x/log", c.LogDir)
	assert.Equal(t, []string{"compute-node-1", "compute-node-2"}, c.Hosts)
	assert.True(t, c.Verbose)
	assert.Equal(t, 2500*time.Millisecond, c.Delay)
	assert.Equal(t, []string{StrategyPcsStatus, StrategyPcsConfig}, c.Discovery.Order)
	assert.Equal(t, 20*time.Second, c.Discovery.Budget)
	assert.False(t, c.Safety.PairingCheck)
	assert.Equal(t, int64(128*MiB), c.Strategies[StrategyKubectlNNF].MemoryLimit)
	// a key set through the environment joins the default keys of the section
	assert.Equal(t, map[string]any{"namespace": "nnf-system", "cache_dir": DefaultKubectlCacheDir}, c.Strategies[StrategyKubectlNNF].Config)
	assert.Equal(t, []string{"crm_mon"}, c.Strategies[StrategyPcsStatus].Allow)
	assert.Equal(t, "/opt/site/lustre.wasm", c.Strategies["site-lustre"].File)
	assert.Equal(t, 2*time.Second, c.Commands["crm_mon"].Timeout)
	assert.Equal(t, map[string]string{"KUBECONFIG": "/etc/k.conf"}, c.Commands["kubectl"].SetEnv)
	assert.Equal(t, int64(16*MiB), c.Commands["kubectl"].OutputCap)
	assert.Equal(t, "/opt/k/kubectl", c.Commands["kubectl"].Path)
	assert.Equal(t, []string{"--request-timeout", "3s"}, c.Commands["kubectl"].Args)

	assert.Equal(t, "env:"+EnvPrefix+"STRATEGIES__KUBECTL_NNF__MEMORY_LIMIT", l.Sources["strategies.kubectl-nnf.memory_limit"])
	assert.Equal(t, "env:"+EnvPrefix+"COMMANDS__KUBECTL__SET_ENV__KUBECONFIG", l.Sources["commands.kubectl.set_env.KUBECONFIG"])
	assert.Equal(t, "env:"+EnvPrefix+"COMMANDS__KUBECTL__PATH", l.Sources["commands.kubectl.args"])
	assert.Equal(t, "env:"+EnvPrefix+"STRATEGIES__KUBECTL_NNF__CONFIG__NAMESPACE", l.Sources["strategies.kubectl-nnf.config.namespace"])
}

func TestEnvKeyMapping(t *testing.T) {
	commands := []string{"kubectl", "crm_mon", "site-tool"}
	strategies := []string{"kubectl-nnf", "pcs-status", "site_old"}
	for rest, want := range map[string]string{
		"LOG_DIR":                                 "log_dir",
		"DISCOVERY__ORDER":                        "discovery.order",
		"STRATEGIES__KUBECTL_NNF__TIMEOUT":        "strategies.kubectl-nnf.timeout",
		"STRATEGIES__kubectl-nnf__TIMEOUT":        "strategies.kubectl-nnf.timeout",
		"STRATEGIES__SITE_OLD__FILE":              "strategies.site_old.file",
		"STRATEGIES__NEW_ONE__FILE":               "strategies.new-one.file",
		"COMMANDS__CRM_MON__PATH":                 "commands.crm_mon.path",
		"COMMANDS__SITE_TOOL__PATH":               "commands.site-tool.path",
		"COMMANDS__NEW_TOOL__PATH":                "commands.new_tool.path",
		"COMMANDS__KUBECTL__SET_ENV__HTTPS_PROXY": "commands.kubectl.set_env.HTTPS_PROXY",
		"STRATEGIES__KUBECTL_NNF__CONFIG__A__B":   "strategies.kubectl-nnf.config.a.b",
	} {
		assert.Equal(t, want, envKey(rest, commands, strategies), rest)
	}
}

func TestPrefixedEnvWinsOverLegacyAndFirstDuplicateWins(t *testing.T) {
	l := mustLoad(t, LoadOptions{Environ: []string{
		"LOG_DIR=/legacy",
		EnvPrefix + "LOG_DIR=/prefixed",
		EnvPrefix + "LOG_DIR=/second-copy",
		"KUBECTL_CMD=/legacy/kubectl",
		"junk-without-equals",
	}})
	assert.Equal(t, "/prefixed", l.Config.LogDir)
	assert.Equal(t, "env:"+EnvPrefix+"LOG_DIR", l.Sources["log_dir"])
	assert.Equal(t, "/legacy/kubectl", l.Config.Commands["kubectl"].Path)
}

func TestOptionLayer(t *testing.T) {
	file := writeYAML(t, "log_dir: /from/file\nverbose: false\n")
	l := mustLoad(t, LoadOptions{
		File:    file,
		Environ: []string{"LOG_DIR=/from/env", "GFS2_DISCOVERY_ENABLED=1"},
		Overrides: map[string]any{
			"log_dir":               "/from/stdin",
			"discovery.enabled":     false,
			"commands.kubectl.path": "/opt/kubectl --kubeconfig /etc/k",
			"commands.pcs.path":     "/opt/pcs",
			"plugin_dir":            "/opt/plugins",
			"verbose":               "yes",
			"delay":                 "5",
		},
		OverrideLayer: SourceStdin,
	})
	c := l.Config
	assert.Equal(t, "/from/stdin", c.LogDir)
	assert.False(t, c.Discovery.Enabled)
	assert.Equal(t, "/opt/kubectl", c.Commands["kubectl"].Path)
	assert.Equal(t, []string{"--kubeconfig", "/etc/k"}, c.Commands["kubectl"].Args)
	assert.Equal(t, "/opt/pcs", c.Commands["pcs"].Path)
	assert.Equal(t, "/opt/plugins", c.PluginDir)
	assert.True(t, c.Verbose)
	assert.Equal(t, 5*time.Second, c.Delay)
	for _, key := range []string{"log_dir", "discovery.enabled", "commands.kubectl.path",
		"commands.kubectl.args", "commands.pcs.path", "plugin_dir", "verbose", "delay"} {
		assert.Equal(t, SourceStdin, l.Sources[key], key)
	}

	l = mustLoad(t, LoadOptions{Overrides: map[string]any{"verbose": true}, OverrideLayer: SourceArgv})
	assert.Equal(t, SourceArgv, l.Sources["verbose"])

	assert.Equal(t, `logdir: unknown key (did you mean "log_dir"?) (from argv)`,
		loadErr(t, LoadOptions{Overrides: map[string]any{"logdir": "/x"}, OverrideLayer: SourceArgv}))
}

// Each layer beats every layer below it, and the source says which won.
func TestPrecedence(t *testing.T) {
	file := writeYAML(t, "log_dir: /l/file\n")
	type layerSet struct {
		file, legacy, prefixed, option bool
	}
	for _, tc := range []struct {
		layers  layerSet
		want    string
		wantSrc string
	}{
		{layerSet{}, DefaultLogDir, SourceDefault},
		{layerSet{file: true}, "/l/file", "file:" + file},
		{layerSet{file: true, legacy: true}, "/l/legacy", "env:LOG_DIR"},
		{layerSet{file: true, legacy: true, prefixed: true}, "/l/prefixed", "env:" + EnvPrefix + "LOG_DIR"},
		{layerSet{file: true, legacy: true, prefixed: true, option: true}, "/l/stdin", SourceStdin},
		{layerSet{legacy: true, option: true}, "/l/stdin", SourceStdin},
		{layerSet{file: true, prefixed: true}, "/l/prefixed", "env:" + EnvPrefix + "LOG_DIR"},
	} {
		opts := LoadOptions{OverrideLayer: SourceStdin}
		if tc.layers.file {
			opts.File = file
		}
		if tc.layers.legacy {
			opts.Environ = append(opts.Environ, "LOG_DIR=/l/legacy")
		}
		if tc.layers.prefixed {
			opts.Environ = append(opts.Environ, EnvPrefix+"LOG_DIR=/l/prefixed")
		}
		if tc.layers.option {
			opts.Overrides = map[string]any{"log_dir": "/l/stdin"}
		}
		l := mustLoad(t, opts)
		assert.Equal(t, tc.want, l.Config.LogDir, "%+v", tc.layers)
		assert.Equal(t, tc.wantSrc, l.Sources["log_dir"], "%+v", tc.layers)
	}
}

func TestValueSyntax(t *testing.T) {
	durations := map[any]time.Duration{
		"5s": 5 * time.Second, "1m30s": 90 * time.Second, "5": 5 * time.Second, " 7s ": 7 * time.Second,
		"1.5": 1500 * time.Millisecond, 5: 5 * time.Second, 2.5: 2500 * time.Millisecond, "-1s": -time.Second,
		"0": 0,
	}
	for in, want := range durations {
		got, err := parseDuration(in)
		require.NoError(t, err, "%#v", in)
		assert.Equal(t, want, got, "%#v", in)
	}
	for _, in := range []any{"5x", "", "s", "1e400", true, []any{"5s"}, nil} {
		_, err := parseDuration(in)
		assert.EqualError(t, err, show(in)+" is not a duration", "%#v", in)
	}

	sizes := map[any]int64{
		"64MiB": 64 * MiB, "16M": 16 * MiB, "16MB": 16_000_000, "16mib": 16 * MiB, "4096": 4096,
		4096: 4096, "1.5KiB": 1536, "1GiB": 1 << 30, "16 MiB": 16 * MiB, "2G": 2 << 30, "10k": 10240,
		float64(65536): 65536, "7B": 7,
	}
	for in, want := range sizes {
		got, err := parseSize(in)
		require.NoError(t, err, "%#v", in)
		assert.Equal(t, want, got, "%#v", in)
	}
	for _, in := range []any{"64XB", "-", "1.3", "abc", "", "MiB", 1.5, true, "99999999999T"} {
		_, err := parseSize(in)
		assert.EqualError(t, err, show(in)+" is not a size (use bytes or a unit like 64MiB, 16M)", "%#v", in)
	}

	for _, in := range []any{true, 1, "1", "yes", "YES", "on", "True", " true "} {
		got, err := parseBool(in)
		require.NoError(t, err, "%#v", in)
		assert.True(t, got, "%#v", in)
	}
	for _, in := range []any{false, 0, "0", "no", "Off", "FALSE"} {
		got, err := parseBool(in)
		require.NoError(t, err, "%#v", in)
		assert.False(t, got, "%#v", in)
	}
	for _, in := range []any{"maybe", "", 2, "y", nil} {
		_, err := parseBool(in)
		assert.EqualError(t, err, show(in)+" is not a boolean (use true/false, yes/no, on/off or 1/0)", "%#v", in)
	}

	list, err := parseList(" a, b,,c ")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, list)
	list, err = parseList([]any{"a", 1})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "1"}, list)
	list, err = parseList("")
	require.NoError(t, err)
	assert.Equal(t, []string{}, list)
	_, err = parseList(map[string]any{"a": 1})
	assert.EqualError(t, err, "a mapping is not a list (use a YAML list or a comma-separated string)")
	_, err = parseList([]any{"a", []any{"b"}})
	assert.EqualError(t, err, `item 2: [b] is not a string`)
}

// Every invalid value gets a message naming the key and where it came from.
func TestInvalidValues(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want string // "%s" is the file's source label
	}{
		{"verbose: maybe", `verbose: "maybe" is not a boolean (use true/false, yes/no, on/off or 1/0) (from %s)`},
		{"discovery: {enabled: 2}", `discovery.enabled: 2 is not a boolean (use true/false, yes/no, on/off or 1/0) (from %s)`},
		{"delay: soon", `delay: "soon" is not a duration (from %s)`},
		{"delay: -5", `delay: -5s is out of range (0 to 10m0s) (from %s)`},
		{"delay: 1h", `delay: 1h0m0s is out of range (0 to 10m0s) (from %s)`},
		{"discovery: {budget: 0}", `discovery.budget: 0s must be positive (from %s)`},
		{"strategies: {pcs-status: {timeout: -1s}}", `strategies.pcs-status.timeout: -1s must be positive (from %s)`},
		{"commands: {pcs: {timeout: -3}}", `commands.pcs.timeout: -3s must be positive (from %s)`},
		{"discovery: {mode: eager}", `discovery.mode: "eager" is not bounded, inline or deferred (from %s)`},
		{"discovery: {order: [pcs-status, nope]}", `discovery.order: unknown strategy "nope" (known: kubectl-nnf, pcs-config, pcs-status; or add strategies.nope.file, or drop /etc/fence_gfs2_recorder/plugins.d/nope.wasm) (from %s)`},
		{"discovery: {order: [pcs-status, pcs-status]}", `discovery.order: "pcs-status" is listed twice (from %s)`},
		{"discovery: {order: [../x]}", `discovery.order: "../x" is not a valid strategy name (letters, digits, '-', '_') (from %s)`},
		{"strategies: {kubectl-nnf: {allow: [kubectl, curl]}}", `strategies.kubectl-nnf.allow: command "curl" is not defined (known: cibadmin, crm_mon, kubectl, pcs) (from %s)`},
		{"strategies: {site: {file: site.wasm}}", `strategies.site.file: "site.wasm" is not an absolute path (from %s)`},
		{"commands: {pcs: {path: usr/sbin/pcs}}", `commands.pcs.path: "usr/sbin/pcs" is not an absolute path (from %s)`},
		{"commands: {pcs: {path: ''}}", `commands.pcs.path: must not be empty (from %s)`},
		{"commands: {kubectl: {env: [KUBECONFIG, 'BAD-NAME']}}", `commands.kubectl.env: "BAD-NAME" is not an environment variable name (from %s)`},
		{"commands: {kubectl: {output_cap: 100}}", `commands.kubectl.output_cap: 100 is out of range (1KiB to 1GiB) (from %s)`},
		{"commands: {kubectl: {output_cap: 2GiB}}", `commands.kubectl.output_cap: 2GiB is out of range (1KiB to 1GiB) (from %s)`},
		{"commands: {kubectl: {output_cap: lots}}", `commands.kubectl.output_cap: "lots" is not a size (use bytes or a unit like 64MiB, 16M) (from %s)`},
		{"strategies: {kubectl-nnf: {memory_limit: 1MiB}}", `strategies.kubectl-nnf.memory_limit: 1MiB is out of range (4MiB to 4GiB, a multiple of 64KiB) (from %s)`},
		{"strategies: {kubectl-nnf: {memory_limit: 8GiB}}", `strategies.kubectl-nnf.memory_limit: 8GiB is out of range (4MiB to 4GiB, a multiple of 64KiB) (from %s)`},
		{"strategies: {kubectl-nnf: {memory_limit: 5000000}}", `strategies.kubectl-nnf.memory_limit: 5000000 is out of range (4MiB to 4GiB, a multiple of 64KiB) (from %s)`},
		{"logdir: /x", `logdir: unknown key (did you mean "log_dir"?) (from %s)`},
		{"discovery: {ordr: [pcs-status]}", `discovery.ordr: unknown key (did you mean "order"?) (from %s)`},
		{"strategies: {kubectl-nnf: {timout: 1s}}", `strategies.kubectl-nnf.timout: unknown key (did you mean "timeout"?) (from %s)`},
		{"commands: {kubectl: {pth: /x}}", `commands.kubectl.pth: unknown key (did you mean "path"?) (from %s)`},
		{"safety: {pairing: false}", `safety.pairing: unknown key (known: pairing_check) (from %s)`},
		{"log_dir: {a: b}", `log_dir.a: unknown key (log_dir is not a section) (from %s)`},
		{"discovery: true", `discovery: must be a mapping of enabled, order, budget, mode, fence_wait, hedge_after (from %s)`},
		{"commands: {kubectl: /usr/bin/kubectl}", `commands.kubectl: must be a mapping of path, args, env, set_env, timeout, output_cap (from %s)`},
		{"strategies: {kubectl-nnf: {config: [a]}}", `strategies.kubectl-nnf.config: must be a mapping (it becomes the strategy's Request.Config) (from %s)`},
		{"log_dir: var/log", `log_dir: "var/log" is not an absolute path (from %s)`},
		{"log_dir: ''", `log_dir: must not be empty (from %s)`},
		{"log_dir: [a]", `log_dir: [a] is not a string (from %s)`},
		{"hosts: ['node 1']", `hosts: "node 1" is not a host name (from %s)`},
		{"hosts: {a: 1}", `hosts.a: unknown key (hosts is not a section) (from %s)`},
		{"recorder_node: \"a\\nb\"", `recorder_node: "a\nb" contains blanks or control characters (from %s)`},
		{"strategies: {'a.b': {file: /x.wasm}}", `strategies.a.b.file: unknown key (strategy names cannot contain '.') (from %s)`},
	} {
		path := writeYAML(t, tc.yaml+"\n")
		want := strings.ReplaceAll(tc.want, "%s", "file:"+path)
		assert.Equal(t, want, loadErr(t, LoadOptions{File: path}), tc.yaml)
	}
}

func TestInvalidFromEnvironmentNamesTheVariable(t *testing.T) {
	assert.Equal(t, `discovery.budget: "5x" is not a duration (from env:FENCE_GFS2_RECORDER_DISCOVERY__BUDGET)`,
		loadErr(t, LoadOptions{Environ: []string{"FENCE_GFS2_RECORDER_DISCOVERY__BUDGET=5x"}}))
	assert.Equal(t, `discovery.enabled: "maybe" is not a boolean (use true/false, yes/no, on/off or 1/0) (from env:GFS2_DISCOVERY_ENABLED)`,
		loadErr(t, LoadOptions{Environ: []string{"GFS2_DISCOVERY_ENABLED=maybe"}}))
	assert.Equal(t, `discovery.ordr: unknown key (did you mean "order"?) (from env:FENCE_GFS2_RECORDER_DISCOVERY__ORDR)`,
		loadErr(t, LoadOptions{Environ: []string{"FENCE_GFS2_RECORDER_DISCOVERY__ORDR=pcs-status"}}))
	assert.Equal(t, `delay: "5x" is not a duration (from stdin)`,
		loadErr(t, LoadOptions{Overrides: map[string]any{"delay": "5x"}, OverrideLayer: SourceStdin}))
}

func TestAllProblemsAreReportedSortedAndUnwrappable(t *testing.T) {
	path := writeYAML(t, "verbose: maybe\ndiscovery: {budget: 5x, mode: eager}\n")
	_, err := Load(LoadOptions{File: path})
	require.Error(t, err)
	src := "(from file:" + path + ")"
	assert.Equal(t, `discovery.budget: "5x" is not a duration `+src+`; `+
		`discovery.mode: "eager" is not bounded, inline or deferred `+src+`; `+
		`verbose: "maybe" is not a boolean (use true/false, yes/no, on/off or 1/0) `+src, err.Error())

	var fe *FieldError
	require.True(t, errors.As(err, &fe))
	assert.Equal(t, "discovery.budget", fe.Key)
	assert.Equal(t, "file:"+path, fe.Source)
	var all Errors
	require.True(t, errors.As(err, &all))
	assert.Len(t, all, 3)
}

func TestBadFiles(t *testing.T) {
	syntax := writeYAML(t, "discovery:\n  order: [a\n")
	assert.Regexp(t, `^config file `+regexp.QuoteMeta(syntax)+`: yaml: line \d+: `, loadErr(t, LoadOptions{File: syntax}))

	dup := writeYAML(t, "log_dir: /a\nlog_dir: /b\n")
	assert.Contains(t, loadErr(t, LoadOptions{File: dup}), `mapping key "log_dir" already defined`)

	list := writeYAML(t, "- log_dir\n")
	assert.Contains(t, loadErr(t, LoadOptions{File: list}), "config file "+list+": yaml: unmarshal errors")

	dir := t.TempDir()
	assert.Equal(t, "config file "+dir+": not a regular file", loadErr(t, LoadOptions{File: dir}))

	big := writeYAML(t, "# "+strings.Repeat("x", MaxFileSize)+"\n")
	assert.Contains(t, loadErr(t, LoadOptions{File: big}), "more than the 1048576 a config can be")

	// An empty file (or one of comments only) is a valid, empty layer.
	empty := writeYAML(t, "# nothing here\n")
	l := mustLoad(t, LoadOptions{File: empty})
	assert.Equal(t, Defaults(), l.Config)
	assert.Equal(t, empty, l.File)
}

func TestValidateWithoutSources(t *testing.T) {
	c := Defaults()
	require.NoError(t, c.Validate())

	// A bare program name is allowed (PATH may resolve it at run time or
	// the strategy fails); a path relative to the cwd is not.
	c.Commands["pcs"] = Command{Path: "pcs", Timeout: time.Second, OutputCap: MiB}
	require.NoError(t, c.Validate())
	c.Commands["pcs"] = Command{Path: "./pcs", Timeout: time.Second, OutputCap: MiB}
	assert.EqualError(t, c.Validate(), `commands.pcs.path: "./pcs" is not an absolute path`)

	c = Defaults()
	c.Strategies["bad/name"] = newStrategy()
	c.Discovery.Mode = ""
	assert.EqualError(t, c.Validate(), `discovery.mode: "" is not bounded, inline or deferred; `+
		`strategies.bad/name: is not a valid strategy name (letters, digits, '-', '_')`)
}

var printLine = regexp.MustCompile(`^(\S+) = (.+?) {3,}# (\S+)$`)

func TestPrint(t *testing.T) {
	file := writeYAML(t, `
strategies:
  kubectl-nnf:
    config:
      note: "two\nlines"
      list: [a, 1]
`)
	l := mustLoad(t, LoadOptions{
		File:          file,
		Environ:       []string{"KUBECTL_CMD=/opt/kubectl --kubeconfig /etc/k"},
		Overrides:     map[string]any{"verbose": "1"},
		OverrideLayer: SourceStdin,
	})
	var out bytes.Buffer
	l.Print(&out)
	text := out.String()

	var again bytes.Buffer
	l.Print(&again)
	assert.Equal(t, text, again.String(), "Print must be stable")

	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	keys := make([]string, 0, len(lines))
	for _, line := range lines {
		m := printLine.FindStringSubmatch(line)
		require.NotNil(t, m, "line %q", line)
		keys = append(keys, m[1])
		assert.Equal(t, l.Sources[m[1]], m[3], line)
	}
	assert.True(t, sort.StringsAreSorted(keys))
	assert.ElementsMatch(t, keys, mapKeys(l.Sources), "one line per leaf, every leaf has a source")

	for _, want := range []string{
		`verbose = true`, `# stdin`,
		`commands.kubectl.path = "/opt/kubectl"`, `commands.kubectl.args = ["--kubeconfig", "/etc/k"]`,
		`strategies.kubectl-nnf.config.note = "two\nlines"`,
		`strategies.kubectl-nnf.config.list = ["a", 1]`,
		`strategies.kubectl-nnf.memory_limit = 64MiB`,
		`discovery.budget = 15s`,
		`commands.pcs.set_env = {}`,
	} {
		assert.Contains(t, text, want)
	}
	assert.Regexp(t, `(?m)^verbose = true {3,}# stdin$`, text)
	assert.Regexp(t, `(?m)^commands\.kubectl\.args = \["--kubeconfig", "/etc/k"\] {3,}# env:KUBECTL_CMD$`, text)
	assert.Regexp(t, `(?m)^strategies\.kubectl-nnf\.config\.note = "two\\nlines" {3,}# file:`+regexp.QuoteMeta(file)+`$`, text)
}

func mapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// What Print shows must read back as the same configuration: a person
// copies a line into the file or the environment.
func TestPrintedValuesReadBack(t *testing.T) {
	c := Defaults()
	for _, lf := range leaves(&c) {
		switch {
		case strings.HasSuffix(lf.key, "timeout") || strings.HasSuffix(lf.key, "budget") || lf.key == "delay":
			_, err := parseDuration(lf.value)
			assert.NoError(t, err, lf.key)
		case strings.HasSuffix(lf.key, "memory_limit") || strings.HasSuffix(lf.key, "output_cap"):
			n, err := parseSize(lf.value)
			assert.NoError(t, err, lf.key)
			assert.Positive(t, n)
		}
	}
}

func TestSiteCommand(t *testing.T) {
	path := writeYAML(t, `
commands:
  lfs:
    path: /usr/bin/lfs
    args: [df]
    set_env: {LANG: C}
strategies:
  site-lustre:
    file: /opt/site/lustre.wasm
    allow: [lfs]
`)
	l := mustLoad(t, LoadOptions{File: path})
	lfs := l.Config.Commands["lfs"]
	assert.Equal(t, Command{Path: "/usr/bin/lfs", Args: []string{"df"}, Env: []string{},
		SetEnv: map[string]string{"LANG": "C"}, Timeout: DefaultStrategyTimeout, OutputCap: DefaultOutputCap}, lfs)
	assert.Equal(t, SourceDefault, l.Sources["commands.lfs.timeout"])
	assert.Equal(t, "file:"+path, l.Sources["commands.lfs.set_env.LANG"])

	for yaml, want := range map[string]string{
		"commands: {lfs: {path: /x, set_env: {BAD-VAR: 1}}}": `commands.lfs.set_env.BAD-VAR: is not an environment variable name`,
		"commands: {lfs: {path: /x, set_env: {A: {B: c}}}}":  `commands.lfs.set_env.A.B: unknown key (set_env values are plain strings)`,
		"commands: {lfs: {path: /x, set_env: [A]}}":          `commands.lfs.set_env: must be a mapping of variable names to values`,
		"commands: {lfs: {path: /x, set_env: {A: [b]}}}":     `commands.lfs.set_env.A: [b] is not a string`,
		"commands: {'l fs': {path: /x}}":                     `commands.l fs: is not a valid command name (letters, digits, '-', '_')`,
		"commands: [a]":                                      `commands: must be a mapping of command names`,
		"strategies: [a]":                                    `strategies: must be a mapping of strategy names`,
		"strategies: {x: 1}":                                 `strategies.x: must be a mapping of file, timeout, memory_limit, allow, config`,
	} {
		p := writeYAML(t, yaml+"\n")
		assert.Equal(t, want+" (from file:"+p+")", loadErr(t, LoadOptions{File: p}), yaml)
	}
}

func TestEmptyOrderWarns(t *testing.T) {
	l := mustLoad(t, LoadOptions{Environ: []string{EnvPrefix + "DISCOVERY__ORDER="}})
	assert.Equal(t, []string{}, l.Config.Discovery.Order)
	assert.Equal(t, []string{`discovery.order is empty: every fence records ["none-detected"]; set discovery.enabled=false to say so on purpose`}, l.Warnings)

	l = mustLoad(t, LoadOptions{Environ: []string{EnvPrefix + "DISCOVERY__ORDER=", "GFS2_DISCOVERY_ENABLED=0"}})
	assert.Empty(t, l.Warnings)
}
