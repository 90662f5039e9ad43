package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record/recordtest"
)

// These tests run the built agent the way pacemaker-fenced does: no argv,
// key=value lines on stdin, fenced's environment.
var (
	agentBin    string // the agent, built once in TestMain
	pluginsDir  string // <bin dir>/plugins: the built-in strategies, when they build
	pluginsErr  error
	buildCache  string
	fencedEnvTo = []string{"LANG=C.UTF-8", "LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"PCMK_service=pacemaker-fenced", "OCF_OUTPUT_FORMAT=log"}
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fgr-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	agentBin = filepath.Join(dir, "fence_gfs2_recorder")
	if out, err := exec.Command("go", "build", "-o", agentBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build agent: %v\n%s", err, out)
		return 1
	}
	// The built-in module sits next to the binary, where the host looks
	// for it. If it does not build, the tests that need it skip and say why.
	pluginsDir = filepath.Join(dir, "plugins")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w",
		"-o", filepath.Join(pluginsDir, "builtin.wasm"), "../../plugins/builtin")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		pluginsErr = fmt.Errorf("build the built-in module: %v\n%s", err, out)
	}
	buildCache = filepath.Join(dir, "wasm-cache")
	return m.Run()
}

type env struct {
	t      *testing.T
	logDir string
	cfg    string
	extra  []string // environment added to fenced's
}

// newEnv writes a config file: log_dir in a temp dir plus extra YAML. The
// pairing safety check is off: with the default cibadmin it would read
// whatever cluster happens to run on this machine (pairingEnv turns it on
// with a fixture CIB).
func newEnv(t *testing.T, extra string) *env {
	e := &env{t: t, logDir: filepath.Join(t.TempDir(), "gfs2-fencing"), cfg: filepath.Join(t.TempDir(), "config.yaml"),
		extra: []string{"FENCE_GFS2_RECORDER_SAFETY__PAIRING_CHECK=false"}}
	require.NoError(t, os.WriteFile(e.cfg, []byte("log_dir: "+e.logDir+"\ncache_dir: "+buildCache+"\n"+extra), 0o600))
	return e
}

func (e *env) environ() []string {
	return append(append(append([]string{}, fencedEnvTo...), e.extra...), "FENCE_GFS2_RECORDER_CONFIG="+e.cfg)
}

// run feeds stdin to the agent (argv empty unless args are given).
func (e *env) run(stdin string, args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	cmd := exec.Command(agentBin, args...)
	cmd.Env = e.environ()
	cmd.Dir = e.t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	var o, s bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &s
	err := cmd.Run()
	return exitCode(e.t, err), o.String(), s.String()
}

func (e *env) records() []record.Event {
	e.t.Helper()
	return recordtest.Read[record.Event](e.t, e.logDir)
}

func TestMetadataValidatesAndHasNoSideEffects(t *testing.T) {
	rng := "/usr/share/cluster/relaxng/metadata.rng"
	if _, err := os.Stat(rng); err != nil {
		t.Skip("fence-agents not installed")
	}
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Skip("libxml2-utils not installed")
	}
	// A configuration that does not even exist: metadata must not care.
	e := &env{t: t, logDir: filepath.Join(t.TempDir(), "never"), cfg: filepath.Join(t.TempDir(), "missing.yaml")}
	for _, how := range []struct {
		stdin string
		args  []string
	}{{"action=metadata\n", nil}, {"", []string{"-o", "metadata"}}} {
		code, out, stderr := e.run(how.stdin, how.args...)
		require.Equal(t, 0, code, stderr)
		assert.Empty(t, stderr)
		cmd := exec.Command("xmllint", "--noout", "--relaxng", rng, "-")
		cmd.Stdin = strings.NewReader(out)
		res, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", res)
	}
	for _, args := range [][]string{{"--help"}, {"-V"}} {
		code, out, stderr := e.run("", args...)
		assert.Equal(t, 0, code)
		assert.NotEmpty(t, out)
		assert.Empty(t, stderr)
	}
	_, err := os.Stat(e.logDir)
	assert.True(t, os.IsNotExist(err))
}

// Every stdin example captured from pacemaker-fenced 2.1.5 in the Pacemaker lab,
// byte for byte.
func TestFencedStdinExamples(t *testing.T) {
	e := newEnv(t, "hosts: [compute-node-3, compute-node-4]\ndiscovery:\n  enabled: false\n")
	for _, ex := range []struct {
		name, stdin, stdout string
		records             int
	}{
		{"1 fence off", "nodename=compute-node-4\nspy_tag=A\naction=off\nport=compute-node-4\nsome_param=value\n", "", 1},
		{"2 topology off", "nodename=compute-node-3\nspy_tag=B\naction=off\nport=compute-node-3\nsome_param=value2\n", "", 2},
		{"3 monitor", "spy_tag=A\naction=monitor\nsome_param=value\n", "", 2},
		{"4 host map", "nodename=compute-node-7\nspy_tag=D\naction=reboot\nsome_param=v4\nplug=bmc-7\n", "", 3},
		{"5 metadata", "action=metadata\n", "<?xml", 3},
		{"6 validate-all", "nodename=node1\nspy_tag=V\naction=validate-all\nport=node1\nsome_param=x\n", "", 3},
		{"7 list", "spy_tag=A\naction=list\nsome_param=value\n", "compute-node-3\ncompute-node-4\n", 3},
		{"8 reboot", "nodename=compute-node-3\nspy_tag=A\naction=reboot\nport=compute-node-3\nsome_param=value\n", "", 4},
	} {
		code, out, stderr := e.run(ex.stdin)
		require.Equal(t, 0, code, "%s: %s", ex.name, stderr)
		assert.True(t, strings.HasPrefix(out, ex.stdout), "%s: stdout %q", ex.name, out)
		assert.Len(t, e.records(), ex.records, ex.name)
	}
	evs := e.records()
	got := []string{}
	for _, ev := range evs {
		got = append(got, ev.Action+" "+ev.TargetNode+" "+strings.Join(ev.GFS2Filesystems, ","))
	}
	assert.Equal(t, []string{
		"off compute-node-4 discovery-disabled", "off compute-node-3 discovery-disabled",
		"reboot compute-node-7 discovery-disabled", "reboot compute-node-3 discovery-disabled",
	}, got)
}

// The real strategies, with no cluster or Kubernetes configured for them:
// they fail cleanly and the record still lands with none-detected.
func TestRealStrategiesFailCleanly(t *testing.T) {
	if pluginsErr != nil {
		t.Skipf("built-in strategies do not build: %v", pluginsErr)
	}
	// Inline: the first fence may compile the module (the cache is cold),
	// which can take longer than the fence wait; this test is about how
	// the strategies fail, not about the bound.
	e := newEnv(t, "discovery:\n  mode: inline\ncommands:\n  kubectl:\n    path: /bin/false\n  pcs:\n    path: /bin/false\n  crm_mon:\n    path: /bin/false\n  cibadmin:\n    path: /bin/false\n")
	code, _, stderr := e.run("nodename=compute-node-3\naction=reboot\n")
	require.Equal(t, 0, code, stderr)
	evs := e.records()
	require.Len(t, evs, 1)
	assert.Equal(t, []string{discovery.NoneDetected}, evs[0].GFS2Filesystems)
	require.Len(t, evs[0].Discovery.Attempts, 3)
	for _, a := range evs[0].Discovery.Attempts {
		assert.Equal(t, "builtin", a.Source, a.Strategy)
		assert.Contains(t, []discovery.Outcome{discovery.OutcomeError, discovery.OutcomeEmpty}, a.Outcome, "%s: %s", a.Strategy, a.Error)
	}

	code, _, stderr = e.run("action=monitor\n")
	assert.Equal(t, 0, code, "monitor verifies the strategies load: %s", stderr)
	// A configured strategy that does not load (a corrupt drop-in) makes
	// monitor fail, though the configuration itself is valid.
	plugins := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(plugins, "corrupt.wasm"), []byte("\x00asm garbage"), 0o644))
	bad := newEnv(t, "plugin_dir: "+plugins+"\ndiscovery:\n  order: [kubectl-nnf, corrupt]\n")
	code, _, stderr = bad.run("action=monitor\n")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "monitor: discovery strategies")
	assert.Contains(t, stderr, "corrupt")
	assert.NotContains(t, stderr, "monitor: configuration")
}

func TestBadInputThroughTheBinary(t *testing.T) {
	e := newEnv(t, "discovery:\n  enabled: true\n  order: [kubectl-nnf]\n")
	cases := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		target string
	}{
		{"shell metacharacters", "action=off\nnodename=$(touch /tmp/fgr-pwned); `id` | sh\n", nil, 0, "$(touch /tmp/fgr-pwned); `id` | sh"},
		{"spaces", "action=off\nnodename=compute node 3\n", nil, 0, "compute node 3"},
		{"leading dash", "action=off\nnodename=--help\n", nil, 0, "--help"},
		{"4 KB on stdin", "action=off\nnodename=" + strings.Repeat("k", 4000) + "\n", nil, 0, strings.Repeat("k", 4000)},
		{"10 KB on argv", "", []string{"-o", "off", "--nodename", strings.Repeat("k", 10<<10)}, 0, strings.Repeat("k", 10<<10)},
		{"newline via argv", "", []string{"-o", "off", "-n", "a\nACTION=on"}, 0, "a\nACTION=on"},
		{"non-UTF-8", "action=off\nnodename=n\xffde\n", nil, 0, ""},
		{"binary junk, long line, no =, duplicates", "\x00\x01\xff\n" + strings.Repeat("j", 20000) + "\nnothing\naction=on\naction=off\nnodename=compute-node-3\n", nil, 0, "compute-node-3"},
		{"unknown action", "action=destroy\nnodename=compute-node-3\n", nil, 1, ""},
		{"unknown option", "", []string{"--destroy"}, 1, ""},
	}
	want := 0
	for _, c := range cases {
		code, _, stderr := e.run(c.stdin, c.args...)
		require.Equal(t, c.code, code, "%s: %s", c.name, stderr)
		if c.code != 0 {
			assert.NotEmpty(t, stderr, c.name)
			continue
		}
		want++
		evs := e.records()
		require.Len(t, evs, want, c.name)
		ev := evs[len(evs)-1]
		if c.target != "" {
			assert.Equal(t, c.target, ev.TargetNode, c.name)
		}
		if c.target != "compute-node-3" {
			assert.Equal(t, discovery.OutcomeInvalidTarget, ev.Discovery.Attempts[0].Outcome, c.name)
			assert.NotEmpty(t, ev.TargetNodeEscaped, c.name)
		}
	}
	_, err := os.Stat("/tmp/fgr-pwned")
	assert.True(t, os.IsNotExist(err), "nothing was executed")
	rl, err := os.ReadFile(filepath.Join(e.logDir, record.ReadableFile))
	require.NoError(t, err)
	assert.Equal(t, want, bytes.Count(rl, []byte("\n")), "one readable line per event")
}

// 64 agents at once, as a fencing storm would start them: every record whole.
func TestConcurrentAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 64 agents")
	}
	e := newEnv(t, "discovery:\n  enabled: false\n")
	const n = 64
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(agentBin)
			cmd.Env = e.environ()
			cmd.Stdin = strings.NewReader(fmt.Sprintf("nodename=compute-node-%d\naction=reboot\n", i))
			if err := cmd.Run(); err != nil {
				codes[i] = -1
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, make([]int, n), codes)
	evs := e.records()
	require.Len(t, evs, n)
	seen := map[string]bool{}
	for _, ev := range evs {
		seen[ev.TargetNode] = true
	}
	assert.Len(t, seen, n)
	rl, err := os.ReadFile(filepath.Join(e.logDir, record.ReadableFile))
	require.NoError(t, err)
	assert.Equal(t, n, bytes.Count(rl, []byte("\n")))
}

// SIGTERM during --delay: the agent stops waiting and still records.
func TestSigtermDuringDelayStillRecords(t *testing.T) {
	signalDuringDelayStillRecords(t, syscall.SIGTERM)
}

// signalDuringDelayStillRecords sends sig to an agent inside a 30 s delay
// before a reboot: it must exit 0 with the record written.
func signalDuringDelayStillRecords(t *testing.T, sig syscall.Signal) {
	t.Helper()
	e := newEnv(t, "discovery:\n  enabled: false\n")
	cmd := exec.Command(agentBin)
	cmd.Env = e.environ()
	cmd.Stdin = strings.NewReader("nodename=compute-node-3\naction=reboot\ndelay=30\n")
	require.NoError(t, cmd.Start())
	// Wait until the agent is inside the delay (it logs it first).
	deadline := time.Now().Add(hangBound)
	for {
		b, _ := os.ReadFile(filepath.Join(e.logDir, record.OperationalFile))
		if bytes.Contains(b, []byte("delaying before recording")) {
			break
		}
		require.True(t, time.Now().Before(deadline), "agent never started its delay")
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(sig))
	require.NoError(t, cmd.Wait(), "exit 0 after %s", sig)
	evs := e.records()
	require.Len(t, evs, 1)
	assert.Equal(t, "compute-node-3", evs[0].TargetNode)
}

func TestPluginsSubcommandIsWired(t *testing.T) {
	if pluginsErr != nil {
		t.Skipf("built-in strategies do not build: %v", pluginsErr)
	}
	e := newEnv(t, "")
	code, out, stderr := e.run("", "plugins", "list")
	require.Equal(t, 0, code, stderr)
	for _, name := range []string{"kubectl-nnf", "pcs-status", "pcs-config"} {
		assert.Contains(t, out, name)
	}
	code, _, _ = e.run("", "plugins", "no-such-subcommand")
	assert.NotEqual(t, 0, code)
}

func TestUnwritableLogDirThroughTheBinary(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	e := newEnv(t, "")
	code, _, stderr := e.run("nodename=compute-node-3\naction=off\ngfs2_discovery=0\nlog_dir=" + filepath.Join(blocker, "x") + "\n")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, `"target_node":"compute-node-3"`)
	code, _, stderr = e.run("action=monitor\nlog_dir=" + filepath.Join(blocker, "x") + "\n")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "log directory")
}

func TestOptionsSectionOfREADMEIsCurrent(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if os.IsNotExist(err) {
		t.Skip("no README.md")
	}
	require.NoError(t, err)
	code, out, _ := (&env{t: t}).run("", "--print-options-markdown")
	require.Equal(t, 0, code)
	const begin, end = "<!-- options:begin -->\n", "<!-- options:end -->"
	s := string(readme)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	require.True(t, i >= 0 && j > i, "README.md has no %q ... %q section", begin, end)
	assert.Equal(t, out, s[i+len(begin):j], "README options table is stale: regenerate with bin/fence_gfs2_recorder --print-options-markdown")
}

// Whole-process costs, for the README and the report (not timed tests).
func BenchmarkProcessMetadata(b *testing.B) {
	for b.Loop() {
		if err := exec.Command(agentBin, "-o", "metadata").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProcessRecordDiscoveryDisabled(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		cmd := exec.Command(agentBin)
		cmd.Env = append(append([]string{}, fencedEnvTo...), "FENCE_GFS2_RECORDER_CONFIG=")
		cmd.Stdin = strings.NewReader("nodename=compute-node-3\naction=reboot\ngfs2_discovery=0\nlog_dir=" + dir + "\n")
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// The reference agent is Python; this is the floor of its start-up.
func BenchmarkProcessPythonImports(b *testing.B) {
	py, err := exec.LookPath("python3")
	if err != nil {
		b.Skip("no python3")
	}
	for b.Loop() {
		if err := exec.Command(py, "-c", "import subprocess,json,logging,socket").Run(); err != nil {
			b.Fatal(err)
		}
	}
}
