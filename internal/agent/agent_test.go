package agent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record/recordtest"
)

// fakeSource answers from a table and remembers which strategies and
// targets it was asked about, so tests can prove nothing ran.
type fakeSource struct {
	mu      sync.Mutex
	answers map[string][]string // strategy -> filesystems (nil: empty answer)
	asked   []string
	targets []string
	closed  bool
}

func (f *fakeSource) Strategy(_ context.Context, name string) (discovery.Strategy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, name)
	fs, ok := f.answers[name]
	if !ok {
		return nil, discovery.ErrUnknownStrategy
	}
	return strategyFunc(func(_ context.Context, t discovery.Target) discovery.Attempt {
		f.mu.Lock()
		f.targets = append(f.targets, t.Node)
		f.mu.Unlock()
		if len(fs) == 0 {
			return discovery.Attempt{Outcome: discovery.OutcomeEmpty,
				Logs: []discovery.LogLine{{Level: "INFO", Msg: "guest says hello"}}}
		}
		return discovery.Attempt{Outcome: discovery.OutcomeFound, Filesystems: fs}
	}), nil
}

type strategyFunc func(context.Context, discovery.Target) discovery.Attempt

func (s strategyFunc) Discover(ctx context.Context, t discovery.Target) discovery.Attempt {
	return s(ctx, t)
}

type harness struct {
	t       *testing.T
	logDir  string
	cfgFile string
	src     *fakeSource
	stdout  bytes.Buffer
	stderr  bytes.Buffer
	syslog  []string
	slept   []time.Duration
	agent   *Agent
}

// newHarness: a config file that only sets log_dir and hosts, the default
// chain, a fake source where pcs-status knows the answer.
func newHarness(t *testing.T, yaml string) *harness {
	h := &harness{t: t, logDir: filepath.Join(t.TempDir(), "gfs2-fencing"),
		src: &fakeSource{answers: map[string][]string{config.StrategyKubectlNNF: nil, config.StrategyPcsStatus: {"sharedfs", "scratch"}}}}
	h.cfgFile = filepath.Join(t.TempDir(), "config.yaml")
	if yaml == "" {
		yaml = "log_dir: " + h.logDir + "\nhosts: [compute-node-3, compute-node-4]\ncache_dir: \"\"\n"
	}
	require.NoError(t, os.WriteFile(h.cfgFile, []byte(yaml), 0o600))
	h.agent = &Agent{
		Stdout:   &h.stdout,
		Stderr:   &h.stderr,
		Environ:  []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", config.EnvConfigFile + "=" + h.cfgFile},
		Now:      func() time.Time { return time.Date(2026, 11, 25, 6, 30, 0, 0, time.UTC) },
		Hostname: func() (string, error) { return "rabbit-node-1", nil },
		NewSource: func(*config.Config, *slog.Logger) (discovery.Source, func(context.Context) error) {
			return h.src, func(context.Context) error { h.src.closed = true; return nil }
		},
		// Never the real /var/log/gfs2-fencing, even when a test breaks the config.
		FallbackLogDir: filepath.Join(t.TempDir(), "fallback"),
		Sleep:          func(_ context.Context, d time.Duration) error { h.slept = append(h.slept, d); return nil },
		Syslog:         func(m string) error { h.syslog = append(h.syslog, m); return nil },
	}
	return h
}

func (h *harness) stdin(in string) int {
	h.agent.Stdin = strings.NewReader(in)
	return h.agent.Run(context.Background(), nil)
}

func (h *harness) argv(args ...string) int {
	h.agent.Stdin = strings.NewReader("action=off\nnodename=must-not-be-read\n")
	return h.agent.Run(context.Background(), args)
}

func (h *harness) records() []record.Event {
	h.t.Helper()
	return readRecords(h.t, h.logDir)
}

func readRecords(t *testing.T, dir string) []record.Event {
	t.Helper()
	return recordtest.Read[record.Event](t, dir)
}

func outcomes(rep discovery.Report) []discovery.Outcome {
	var o []discovery.Outcome
	for _, a := range rep.Attempts {
		o = append(o, a.Outcome)
	}
	return o
}

// stdin exactly as pacemaker-fenced 2.1.5 sends it (fenced-stdin-examples.txt #1).
func TestFencedOffIsRecordedWithDiscovery(t *testing.T) {
	h := newHarness(t, "")
	require.Equal(t, 0, h.stdin("nodename=compute-node-4\nspy_tag=A\naction=off\nport=compute-node-4\nsome_param=value\n"))
	evs := h.records()
	require.Len(t, evs, 1)
	ev := evs[0]
	assert.Equal(t, "off", ev.Action)
	assert.Equal(t, "off", ev.PacemakerAction)
	assert.Equal(t, "compute-node-4", ev.TargetNode)
	assert.Equal(t, []string{"sharedfs", "scratch"}, ev.GFS2Filesystems)
	assert.Equal(t, "initiated", ev.Status)
	assert.Equal(t, "Fence action off initiated by Pacemaker", ev.Details)
	assert.Equal(t, "rabbit-node-1", ev.RecorderNode)
	assert.Equal(t, "2026-11-25T06:30:00.000000Z", ev.Timestamp)
	assert.Equal(t, config.StrategyPcsStatus, ev.Discovery.Strategy)
	assert.Equal(t, []discovery.Outcome{discovery.OutcomeEmpty, discovery.OutcomeFound, discovery.OutcomeSkipped}, outcomes(ev.Discovery))
	assert.Empty(t, ev.ConfigError)
	assert.Len(t, ev.InputWarnings, 2, "device params spy_tag and some_param")
	assert.Equal(t, []string{"compute-node-4", "compute-node-4"}, h.src.targets)
	assert.True(t, h.src.closed, "the runtime is released")
	assert.Empty(t, h.slept)

	rl, err := os.ReadFile(filepath.Join(h.logDir, record.ReadableFile))
	require.NoError(t, err)
	assert.Equal(t, "[2026-11-25 06:30:00] ACTION=off TARGET=compute-node-4 GFS2=[\"sharedfs\",\"scratch\"] STATUS=initiated DETAILS=Fence action off initiated by Pacemaker\n", string(rl))
	op, err := os.ReadFile(filepath.Join(h.logDir, record.OperationalFile))
	require.NoError(t, err)
	assert.Contains(t, string(op), "fence event recorded")
	assert.Contains(t, string(op), "guest says hello", "guest log lines reach the operational log")
	assert.Contains(t, h.stderr.String(), "fence event recorded", "the operational log is also on stderr")
}

// pcmk_host_map: plug has a BMC alias; nodename is the node (#4).
func TestNodenameWinsOverMappedPlug(t *testing.T) {
	h := newHarness(t, "")
	require.Equal(t, 0, h.stdin("nodename=compute-node-7\nspy_tag=D\naction=reboot\nsome_param=v4\nplug=bmc-7\n"))
	evs := h.records()
	require.Len(t, evs, 1)
	assert.Equal(t, "compute-node-7", evs[0].TargetNode)
	assert.Equal(t, "reboot", evs[0].Action)
}

func TestOnIsRecordedWithoutDelay(t *testing.T) {
	h := newHarness(t, "")
	require.Equal(t, 0, h.stdin("action=on\nport=compute-node-3\ndelay=5\n"))
	require.Len(t, h.records(), 1)
	assert.Equal(t, "on", h.records()[0].Action)
	assert.Equal(t, "compute-node-3", h.records()[0].TargetNode, "port is used without nodename")
	assert.Empty(t, h.slept, "delay applies to off and reboot only")
}

func TestDelayBeforeOffAndReboot(t *testing.T) {
	h := newHarness(t, "")
	require.Equal(t, 0, h.argv("-o", "off", "-n", "compute-node-3", "--delay", "2"))
	require.Equal(t, 0, h.stdin("action=reboot\nnodename=compute-node-3\ndelay=1.5\n"))
	assert.Equal(t, []time.Duration{2 * time.Second, 1500 * time.Millisecond}, h.slept)
	assert.Len(t, h.records(), 2)
}

func TestRealSleepHonoursCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Error(t, sleepCtx(ctx, time.Hour))
	assert.NoError(t, sleepCtx(context.Background(), time.Millisecond))
}

func TestMissingActionIsReboot(t *testing.T) {
	h := newHarness(t, "")
	require.Equal(t, 0, h.stdin("nodename=compute-node-3\n"))
	require.Len(t, h.records(), 1)
	assert.Equal(t, "reboot", h.records()[0].Action)
}

func TestDiscoveryDisabled(t *testing.T) {
	h := newHarness(t, "")
	require.Equal(t, 0, h.stdin("action=reboot\nnodename=compute-node-3\ngfs2_discovery=off\n"))
	ev := h.records()[0]
	assert.Equal(t, []string{discovery.DiscoveryDisabled}, ev.GFS2Filesystems)
	assert.False(t, ev.Discovery.Enabled)
	assert.Empty(t, h.src.asked)

	require.Equal(t, 0, h.argv("-o", "reboot", "-n", "compute-node-3", "--no-gfs2-discovery"))
	assert.Equal(t, []string{discovery.DiscoveryDisabled}, h.records()[1].GFS2Filesystems)
}

func TestEveryStrategyFailingStillRecordsNoneDetected(t *testing.T) {
	h := newHarness(t, "")
	h.src.answers = map[string][]string{} // every strategy: load error
	require.Equal(t, 0, h.stdin("action=off\nnodename=compute-node-3\n"))
	ev := h.records()[0]
	assert.Equal(t, []string{discovery.NoneDetected}, ev.GFS2Filesystems)
	assert.Equal(t, []discovery.Outcome{discovery.OutcomeLoadError, discovery.OutcomeLoadError, discovery.OutcomeLoadError}, outcomes(ev.Discovery))

	h.agent.NewSource = nil // a build without the runtime
	require.Equal(t, 0, h.stdin("action=off\nnodename=compute-node-3\n"))
	ev = h.records()[1]
	assert.Equal(t, []string{discovery.NoneDetected}, ev.GFS2Filesystems)
	assert.Contains(t, ev.Discovery.Attempts[0].Error, "no discovery runtime")
}

// Hostile targets: recorded literally, nothing executed (the source is never
// asked), exit 0.
func TestBadNodeNamesAreRecordedButNeverDiscovered(t *testing.T) {
	for name, target := range map[string]string{
		"shell metacharacters": "$(touch /tmp/pwned);rm -rf /",
		"spaces":               "compute node 3",
		"leading dash":         "-rf",
		"10 KB":                strings.Repeat("n", 10<<10),
		"non-UTF-8":            "node\xff\xfe",
		"slash":                "../../etc/passwd",
		"forged field":         "x ACTION=on",
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, "")
			require.Equal(t, 0, h.argv("-o", "reboot", "--nodename", target))
			evs := h.records()
			require.Len(t, evs, 1)
			ev := evs[0]
			if strings.ToValidUTF8(target, "\ufffd") == target {
				assert.Equal(t, target, ev.TargetNode, "recorded literally")
			}
			assert.Equal(t, record.EscapeToken(target), ev.TargetNodeEscaped)
			assert.NotEmpty(t, ev.TargetNodeProblem)
			assert.Equal(t, []string{discovery.NoneDetected}, ev.GFS2Filesystems)
			assert.Equal(t, []discovery.Outcome{discovery.OutcomeInvalidTarget, discovery.OutcomeInvalidTarget, discovery.OutcomeInvalidTarget}, outcomes(ev.Discovery))
			assert.Empty(t, h.src.asked, "no strategy may even be loaded")
			rl, err := os.ReadFile(filepath.Join(h.logDir, record.ReadableFile))
			require.NoError(t, err)
			assert.Equal(t, 1, bytes.Count(rl, []byte("\n")))
			assert.Equal(t, 1, bytes.Count(rl, []byte("ACTION=")))
		})
	}
}

// A newline inside a value cannot arrive through stdin (it ends the line),
// but can through argv.
func TestNewlineInTargetFromArgv(t *testing.T) {
	h := newHarness(t, "")
	require.Equal(t, 0, h.argv("-o", "off", "-n", "compute-node-3\nACTION=on TARGET=x"))
	rl, err := os.ReadFile(filepath.Join(h.logDir, record.ReadableFile))
	require.NoError(t, err)
	assert.Equal(t, 1, bytes.Count(rl, []byte("\n")))
	assert.Contains(t, string(rl), `TARGET="compute-node-3\x0aACTION\x3don\x20TARGET\x3dx"`)
	op, err := os.ReadFile(filepath.Join(h.logDir, record.OperationalFile))
	require.NoError(t, err)
	for _, l := range strings.Split(strings.TrimSpace(string(op)), "\n") {
		assert.True(t, strings.HasPrefix(l, "time="), "operational log line split: %q", l)
	}
}

func TestStdinJunkStillRecords(t *testing.T) {
	junk := []byte{0, 1, 2, 0xff, 0xfe, '\n', 0x1b, '[', '2', 'J', '\n'}
	in := string(junk) + strings.Repeat("z", 100<<10) + "\nno equals sign here\naction=reboot\nnodename=first\nnodename=compute-node-3\naction=off\n"
	h := newHarness(t, "")
	require.Equal(t, 0, h.stdin(in))
	evs := h.records()
	require.Len(t, evs, 1)
	assert.Equal(t, "off", evs[0].Action, "last value wins")
	assert.Equal(t, "compute-node-3", evs[0].TargetNode)
	assert.GreaterOrEqual(t, len(evs[0].InputWarnings), 3)
	assert.Equal(t, []string{"sharedfs", "scratch"}, evs[0].GFS2Filesystems)
}

func TestInvalidConfigStillRecordsWithOptionLogDir(t *testing.T) {
	h := newHarness(t, "log_dir: relative/path\nno_such_key: 1\n")
	dir := filepath.Join(t.TempDir(), "from-stdin")
	require.Equal(t, 0, h.stdin("action=reboot\nnodename=compute-node-3\nlog_dir="+dir+"\n"))
	evs := readRecords(t, dir)
	require.Len(t, evs, 1)
	assert.Contains(t, evs[0].ConfigError, "no_such_key")
	assert.Equal(t, "compute-node-3", evs[0].TargetNode)
	op, err := os.ReadFile(filepath.Join(dir, record.OperationalFile))
	require.NoError(t, err)
	assert.Contains(t, string(op), "invalid configuration")

	// A bad option value alone is a config error too; the valid log_dir stays.
	h = newHarness(t, "")
	require.Equal(t, 0, h.stdin("action=off\nnodename=compute-node-3\ndelay=soon\nlog_dir="+dir+"\n"))
	evs = readRecords(t, dir)
	require.Len(t, evs, 2)
	assert.Contains(t, evs[1].ConfigError, "stdin option delay")
	assert.Empty(t, h.slept)
}

// A bad option value is reported but does not throw the configuration
// file away: the record goes to the file's log_dir.
func TestBadOptionValueKeepsTheConfigFile(t *testing.T) {
	h := newHarness(t, "")
	require.Equal(t, 0, h.stdin("action=reboot\nnodename=compute-node-3\ndelay=soon\n"))
	evs := h.records()
	require.Len(t, evs, 1)
	assert.Contains(t, evs[0].ConfigError, "stdin option delay")
	assert.Equal(t, []string{"sharedfs", "scratch"}, evs[0].GFS2Filesystems, "discovery ran with the file's settings")
	assert.Empty(t, h.slept)
	assert.Equal(t, 1, h.stdin("action=monitor\ndelay=soon\n"))
	assert.Contains(t, h.stderr.String(), "monitor: configuration: stdin option delay")
}

func TestInvalidOptionLogDirIsNotUsedByTheFallback(t *testing.T) {
	h := newHarness(t, "")
	cwd := t.TempDir()
	t.Chdir(cwd)
	// relative log_dir: invalid, so the whole config is invalid, and the
	// fallback must not write into the current directory either.
	require.Equal(t, 0, h.stdin("action=off\nnodename=compute-node-3\nlog_dir=relative\n"))
	_, err := os.Stat(filepath.Join(cwd, "relative"))
	assert.True(t, errors.Is(err, os.ErrNotExist), "nothing written under the working directory")
	assert.Contains(t, h.stderr.String(), "log_dir")
	evs := readRecords(t, h.agent.FallbackLogDir)
	require.Len(t, evs, 1, "recorded in the fallback directory")
	assert.Contains(t, evs[0].ConfigError, "not an absolute path")
}

func TestUnwritableLogDirStillSucceedsAndMonitorFails(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	h := newHarness(t, "log_dir: "+filepath.Join(blocker, "logs")+"\ncache_dir: \"\"\n")
	require.Equal(t, 0, h.stdin("action=reboot\nnodename=compute-node-3\n"))
	assert.Contains(t, h.stderr.String(), `"target_node":"compute-node-3"`, "the record is on stderr")
	require.Len(t, h.syslog, 1)
	assert.Contains(t, h.syslog[0], `"action":"reboot"`)

	h.stderr.Reset()
	assert.Equal(t, 1, h.stdin("action=monitor\n"))
	assert.Contains(t, h.stderr.String(), "monitor: log directory")
}

func TestMonitor(t *testing.T) {
	h := newHarness(t, "")
	// fenced-stdin-examples.txt #3: no target, device params.
	require.Equal(t, 0, h.stdin("spy_tag=A\naction=monitor\nsome_param=value\n"))
	_, err := os.Stat(filepath.Join(h.logDir, record.DetailedFile))
	assert.NoError(t, err, "monitor creates the log directory and files")
	assert.Empty(t, h.records(), "monitor records no event")

	var seen *config.Config
	h.agent.MonitorChecks = []MonitorCheck{{Name: "pairing", Run: func(_ context.Context, c *config.Config, _ *slog.Logger) error {
		seen = c
		return errors.New("recorder is alone in level 2")
	}}}
	h.stderr.Reset()
	assert.Equal(t, 1, h.stdin("action=monitor\n"))
	assert.Contains(t, h.stderr.String(), "monitor: pairing: recorder is alone in level 2")
	require.NotNil(t, seen)
	assert.Equal(t, h.logDir, seen.LogDir)
	op, err := os.ReadFile(filepath.Join(h.logDir, record.OperationalFile))
	require.NoError(t, err)
	assert.Contains(t, string(op), "monitor check failed")

	bad := newHarness(t, "discovery:\n  budget: forever\n")
	assert.Equal(t, 1, bad.stdin("action=monitor\n"))
	assert.Contains(t, bad.stderr.String(), "monitor: configuration")
}

func TestStatusListValidate(t *testing.T) {
	h := newHarness(t, "")
	assert.Equal(t, 0, h.stdin("action=status\nnodename=compute-node-3\n"))
	assert.Equal(t, "Status: ON\n", h.stdout.String())

	h.stdout.Reset()
	assert.Equal(t, 0, h.stdin("action=list\nspy_tag=A\n"))
	assert.Equal(t, "compute-node-3\ncompute-node-4\n", h.stdout.String())

	assert.Equal(t, 0, h.stdin("nodename=node1\naction=validate-all\nport=node1\nsome_param=x\n"))
	_, err := os.Stat(h.logDir)
	assert.True(t, errors.Is(err, os.ErrNotExist), "status, list and validate-all create nothing")

	bad := newHarness(t, "hosts: \"a\\nb\"\n")
	assert.Equal(t, 1, bad.stdin("action=validate-all\n"))
	assert.Contains(t, bad.stderr.String(), "invalid configuration")
	assert.Equal(t, 1, bad.stdin("action=list\n"))
	assert.Equal(t, 1, bad.argv("-o", "validate-all", "--delay", "-3"))
}

// metadata, help and version: no config needed, nothing created, even with a
// broken configuration file named in the environment.
func TestNoSideEffectActions(t *testing.T) {
	h := newHarness(t, "this: is: not: yaml: [")
	for _, run := range []func() int{
		func() int { return h.stdin("action=metadata\n") },
		func() int { return h.argv("-o", "metadata") },
		func() int { return h.argv("--help") },
		func() int { return h.argv("-h") },
		func() int { return h.argv("-V") },
		func() int { return h.argv("--version") },
		func() int { return h.argv("--print-options-markdown") },
	} {
		h.stdout.Reset()
		h.stderr.Reset()
		assert.Equal(t, 0, run())
		assert.NotEmpty(t, h.stdout.String())
		assert.Empty(t, h.stderr.String())
	}
	_, err := os.Stat(h.logDir)
	assert.True(t, errors.Is(err, os.ErrNotExist))
	assert.Empty(t, h.src.asked)
}

func TestUnknownActionsAndOptions(t *testing.T) {
	h := newHarness(t, "")
	for _, run := range []func() int{
		func() int { return h.stdin("action=explode\nnodename=compute-node-3\n") },
		func() int { return h.argv("-o", "poweroff") },
		func() int { return h.stdin("action=\x1b[31mred\nnodename=compute-node-3\n") },
		func() int { return h.argv("--frobnicate") },
		func() int { return h.argv("reboot") },
	} {
		h.stderr.Reset()
		assert.Equal(t, 1, run())
		assert.NotEmpty(t, h.stderr.String())
		assert.NotContains(t, h.stderr.String(), "\x1b", "no raw control bytes echoed")
	}
	assert.Empty(t, h.records())
	assert.Empty(t, h.src.asked)
}

func TestConfigSubcommand(t *testing.T) {
	h := newHarness(t, "")
	require.Equal(t, 0, h.argv("config", "--pcs-cmd", "/opt/pcs"))
	out := h.stdout.String()
	assert.Contains(t, out, "log_dir = ")
	assert.Contains(t, out, "file:"+h.cfgFile)
	assert.Regexp(t, `commands\.pcs\.path = "/opt/pcs"\s+# argv`, out)

	h.stdout.Reset()
	require.Equal(t, 0, h.argv("--show-config"))
	assert.Contains(t, h.stdout.String(), "log_dir = ")

	bad := newHarness(t, "delay: -5s\n")
	assert.Equal(t, 1, bad.argv("config"))
	assert.Contains(t, bad.stderr.String(), "delay")
}

func TestPluginsSubcommand(t *testing.T) {
	h := newHarness(t, "")
	assert.Equal(t, 1, h.argv("plugins", "list"))
	assert.Contains(t, h.stderr.String(), "not available")

	var got []string
	var gotDir string
	h.agent.Admin = func(_ context.Context, cfg *config.Config, args []string, stdout, _ io.Writer) int {
		got, gotDir = args, cfg.LogDir
		io.WriteString(stdout, "kubectl-nnf ok\n")
		return 3
	}
	assert.Equal(t, 3, h.argv("plugins", "run", "--target", "n1"))
	assert.Equal(t, []string{"run", "--target", "n1"}, got)
	assert.Equal(t, h.logDir, gotDir)
	assert.Contains(t, h.stdout.String(), "kubectl-nnf ok")
}

func TestArgvDoesNotReadStdin(t *testing.T) {
	h := newHarness(t, "")
	require.Equal(t, 0, h.argv("-o", "reboot", "-n", "compute-node-3"))
	assert.Equal(t, "compute-node-3", h.records()[0].TargetNode)
	assert.Equal(t, "reboot", h.records()[0].Action)
}
