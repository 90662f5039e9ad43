// Package faults puts the built agent in front of what a hostile plugin, a
// planted file or bad luck does to its compile cache, its plugins and its
// commands, and checks what a fence then records, how it exits and how long
// it takes. It runs the binary `make build` produces, as root (planting
// files owned by others and mounting a full filesystem need it).
package faults

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record/recordtest"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/tmpfstest"
	"github.com/NearNodeFlash/fence-gfs2-recorder/test/harness"
)

// build is the agent under test, made by TestMain, or the bin directory
// named by $FGR_FAULTS_BIN.
var build harness.Build

func TestMain(m *testing.M) { harness.Main(m, &build, os.Getenv("FGR_FAULTS_BIN")) }

// rig is one agent installation: a config file, a log directory, a compile
// cache, a kubectl that answers with compute-node-3's ClientMounts.
type rig struct {
	t       *testing.T
	dir     string
	logDir  string
	cache   string
	cfg     string
	kubectl string
	extra   string // more YAML at the top level
	order   string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("!!! faults tests need root (files owned by others, a tmpfs): SKIPPED !!!")
	}
	require.NoError(t, build.Err)
	dir := t.TempDir()
	r := &rig{t: t, dir: dir, logDir: filepath.Join(dir, "log"), cache: filepath.Join(dir, "cache"), order: "kubectl-nnf"}
	r.kubectl = filepath.Join(dir, "kubectl")
	r.script(r.kubectl, "cat "+filepath.Join(build.Root, "testdata/nnf/fixtures/clientmounts/compute-node-3.json"))
	return r
}

// warm fills the compile cache as postinst does (`plugins warm`, which
// waits for the compile however long a loaded machine takes).
func (r *rig) warm() {
	r.t.Helper()
	r.write()
	res := r.fence("", 5*time.Minute, "plugins", "warm")
	require.Equal(r.t, 0, res.code, res.stderr)
}

func (r *rig) script(path, body string) {
	require.NoError(r.t, os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
}

func (r *rig) write() {
	var b strings.Builder
	fmt.Fprintf(&b, "log_dir: %s\ncache_dir: %s\nbuiltin_dir: %s\nplugin_dir: %s\nrecorder_node: rabbit-node-1\n",
		r.logDir, r.cache, filepath.Join(build.Bin, "plugins"), filepath.Join(r.dir, "plugins.d"))
	// Inline: these faults are about the cache and the sandbox, each seen
	// in the one record of a fence that waits for the whole chain (the
	// fence wait has tests of its own, internal/agent and test/e2e).
	fmt.Fprintf(&b, "discovery:\n  mode: inline\n  order: [%s]\ncommands:\n  kubectl:\n    path: %s\n  crm_mon:\n    path: /bin/false\n  cibadmin:\n    path: /bin/false\n  pcs:\n    path: /bin/false\n", r.order, r.kubectl)
	b.WriteString(r.extra)
	r.cfg = filepath.Join(r.dir, "config.yaml")
	require.NoError(r.t, os.WriteFile(r.cfg, []byte(b.String()), 0o600))
}

type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// fence runs one reboot of target as pacemaker-fenced would, killing the
// agent after limit (a hang is a failed test, not a hung test run).
func (r *rig) fence(target string, limit time.Duration, args ...string) result {
	r.t.Helper()
	if r.cfg == "" {
		r.write()
	}
	cmd := r.command(target, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	require.NoError(r.t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(limit):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		r.t.Fatalf("the agent did not exit within %s (killed); stderr: %s", limit, tail(errb.String()))
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
}

// command is the agent with the rig's configuration, as pacemaker-fenced
// runs it: with no args, a reboot of target on stdin.
func (r *rig) command(target string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(build.Bin, "fence_gfs2_recorder"), args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "FENCE_GFS2_RECORDER_CONFIG=" + r.cfg}
	if len(args) == 0 {
		cmd.Stdin = strings.NewReader("action=reboot\nnodename=" + target + "\n")
	}
	return cmd
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

type attempt struct {
	Strategy string         `json:"strategy"`
	Outcome  string         `json:"outcome"`
	Error    string         `json:"error"`
	Details  map[string]any `json:"details"`
}

type event struct {
	TargetNode      string   `json:"target_node"`
	GFS2Filesystems []string `json:"gfs2_filesystems"`
	Discovery       struct {
		Attempts []attempt `json:"attempts"`
	} `json:"discovery"`
}

// last is the newest record.
func (r *rig) last() event {
	r.t.Helper()
	evs := recordtest.Read[event](r.t, r.logDir)
	require.NotEmpty(r.t, evs)
	return evs[len(evs)-1]
}

var found = []string{"default/fluxjob-102-0", "default/projgfs"}

// entryFiles are wazero's files in the cache's module entries.
func (r *rig) entryFiles() []string {
	var out []string
	_ = filepath.WalkDir(filepath.Join(r.cache, "modules"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != "complete" && !strings.HasSuffix(p, ".lock") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestCorruptCacheEntryIsRecoveredByTheNextFence(t *testing.T) {
	for name, hurt := range map[string]func([]byte) []byte{
		"flipped bytes": func(b []byte) []byte {
			for i := len(b) / 2; i < len(b)/2+64; i++ {
				b[i] ^= 0xff
			}
			return b
		},
		"truncated": func(b []byte) []byte { return b[:len(b)/3] },
		"empty":     func([]byte) []byte { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			r.warm()
			// The fence that recovers compiles again: on a loaded
			// machine that can take longer than the default 5 s.
			r.extra = "strategies:\n  kubectl-nnf:\n    timeout: 60s\n"
			r.write()
			files := r.entryFiles()
			require.NotEmpty(t, files, "the first fence filled the cache")
			for _, f := range files {
				b, err := os.ReadFile(f)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(f, hurt(b), 0o600))
			}

			res := r.fence("compute-node-3", 2*time.Minute)

			assert.Equal(t, 0, res.code)
			assert.Equal(t, found, r.last().GFS2Filesystems, "stderr: %s", tail(res.stderr))
			res = r.fence("compute-node-3", 2*time.Minute)
			assert.Equal(t, found, r.last().GFS2Filesystems, "the fence after is warm and right")
		})
	}
}

func TestFullDiskUnderTheCacheStillFindsAndSaysSo(t *testing.T) {
	r := newRig(t)
	r.cache = tmpfstest.Mount(t, "16k", "0700")
	r.extra = "strategies:\n  kubectl-nnf:\n    timeout: 60s\n"

	res := r.fence("compute-node-3", 2*time.Minute)

	assert.Equal(t, 0, res.code)
	ev := r.last()
	assert.Equal(t, found, ev.GFS2Filesystems, tail(res.stderr))
	require.NotEmpty(t, ev.Discovery.Attempts)
	note, _ := ev.Discovery.Attempts[0].Details["compile_cache"].(string)
	assert.Contains(t, note, "compiled in memory", "the record says so: %+v", ev.Discovery.Attempts)
}

func TestPlantedHeadStartFileRunsNothing(t *testing.T) {
	r := newRig(t)
	r.warm()
	require.Equal(t, 0, r.fence("compute-node-3", 2*time.Minute).code) // learns the plan
	marker := filepath.Join(r.dir, "planted-ran")
	plan := fmt.Sprintf(`{"command":"kubectl","path":%q,"fixed_args":null,"args":["--kubeconfig=/tmp/attacker/kubeconfig","get","secrets","-A"]}`, r.kubectl)
	hs := filepath.Join(r.cache, "headstart")
	require.NoError(t, os.WriteFile(filepath.Join(hs, "kubectl-nnf.json"), []byte(plan+"\n"), 0o644))
	require.NoError(t, os.Chmod(hs, 0o777)) // as an unprivileged user could have written it
	r.script(r.kubectl, `case "$*" in *attacker*) touch `+marker+`;; esac
cat `+filepath.Join(build.Root, "testdata/nnf/fixtures/clientmounts/compute-node-3.json"))

	res := r.fence("compute-node-3", 2*time.Minute)

	assert.Equal(t, 0, res.code)
	assert.Equal(t, found, r.last().GFS2Filesystems)
	assert.NoFileExists(t, marker, "the planted command ran as root")
}

// A command's child that calls setsid and would live for 5 minutes is gone
// when the fence returns.
func TestSetsidGrandchildDoesNotOutliveTheFence(t *testing.T) {
	r := newRig(t)
	r.warm()
	pidFile := filepath.Join(r.dir, "grandchild.pid")
	r.script(r.kubectl, `setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > `+pidFile+`
cat `+filepath.Join(build.Root, "testdata/nnf/fixtures/clientmounts/compute-node-3.json"))

	res := r.fence("compute-node-3", 2*time.Minute)

	assert.Equal(t, 0, res.code)
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	alive := syscall.Kill(pid, 0) == nil
	if alive {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	assert.False(t, alive, "the setsid grandchild %d outlived the fence", pid)
}

// wat builds a test guest of host/testdata/wat into the rig's plugin dir.
func (r *rig) wat(name string) string {
	r.t.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		r.t.Skip("!!! wat2wasm not installed (apt-get install wabt): SKIPPED !!!")
	}
	dir := filepath.Join(r.dir, "plugins.d")
	require.NoError(r.t, os.MkdirAll(dir, 0o755))
	out := filepath.Join(dir, name+".wasm")
	b, err := exec.Command("wat2wasm", filepath.Join(build.Root, "host/testdata/wat", name+".wat"), "-o", out).CombinedOutput()
	require.NoError(r.t, err, string(b))
	require.NoError(r.t, os.Chmod(out, 0o644))
	return out
}

// hostile configures a site strategy first in the order, with a 1 s
// timeout, kubectl-nnf (warm) after it.
func (r *rig) hostile(name, file string) {
	r.warm()
	r.order = name + ", kubectl-nnf"
	r.extra = fmt.Sprintf("strategies:\n  %s:\n    file: %s\n    timeout: 1s\n", name, file)
	r.write()
}

// fenceAfterHostile fences compute-node-3 with the strategy of hostile
// first: the agent exits 0 and kubectl-nnf, after it, finds the
// filesystems. It returns the fence and the hostile strategy's attempt.
func (r *rig) fenceAfterHostile() (result, attempt) {
	r.t.Helper()
	res := r.fence("compute-node-3", time.Minute)
	assert.Equal(r.t, 0, res.code)
	ev := r.last()
	require.NotEmpty(r.t, ev.Discovery.Attempts)
	assert.Equal(r.t, found, ev.GFS2Filesystems, "kubectl-nnf answered after the hostile strategy")
	return res, ev.Discovery.Attempts[0]
}

func TestSleepingGuestIsStoppedAndTheFenceRecorded(t *testing.T) {
	r := newRig(t)
	r.hostile("sleeper", r.wat("sleep"))

	res, first := r.fenceAfterHostile()

	assert.Equal(t, "timeout", first.Outcome)
	t.Logf("fence took %s with a guest asleep for an hour (1 s timeout)", res.took)
}

func TestFIFOAsPluginFileIsRefusedAtOnce(t *testing.T) {
	r := newRig(t)
	dir := filepath.Join(r.dir, "plugins.d")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	fifo := filepath.Join(dir, "fifo.wasm")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	r.hostile("fifo", fifo)

	_, first := r.fenceAfterHostile()

	assert.Equal(t, "load-error", first.Outcome)
	assert.Contains(t, first.Error, "not a regular file (a FIFO)")

	verify := r.fence("", time.Minute, "plugins", "verify", fifo)
	assert.Equal(t, 1, verify.code)
	assert.Contains(t, verify.stderr, "not a regular file (a FIFO)")
}

func TestGuestLogFloodIsBoundedInTheLogsAndOnStderr(t *testing.T) {
	r := newRig(t)
	r.hostile("flood", r.wat("log_flood"))
	r.fence("compute-node-3", 2*time.Minute)
	before, _ := os.Stat(filepath.Join(r.logDir, "fence-events.log"))

	res := r.fence("compute-node-3", time.Minute)

	assert.Equal(t, 0, res.code)
	after, err := os.Stat(filepath.Join(r.logDir, "fence-events.log"))
	require.NoError(t, err)
	grew := after.Size() - before.Size()
	assert.Less(t, grew, int64(1<<20), "the operational log grew %d bytes in one fence", grew)
	assert.Less(t, len(res.stderr), 1<<20, "stderr (Pacemaker's pipe) got %d bytes", len(res.stderr))
	ev := r.last()
	assert.Equal(t, found, ev.GFS2Filesystems)
	t.Logf("one flooding fence: operational log +%d bytes, stderr %d bytes", grew, len(res.stderr))
}

// A module that takes seconds to compile ends its attempt at the strategy
// timeout; the fence goes on with the next strategy, and once the
// background compile has written the entry the module loads.
func TestExpensiveCompileIsBoundedByTheStrategyTimeout(t *testing.T) {
	r := newRig(t)
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Skip("!!! wat2wasm not installed (apt-get install wabt): SKIPPED !!!")
	}
	var b strings.Builder
	b.WriteString(`(module (memory (export "memory") 1)
  (func (export "fgr_abi_version") (result i32) (i32.const 1))
  (func (export "fgr_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "fgr_discover") (param i32 i32) (result i64) (i64.const 0))
  (func (export "heavy") (param $b i32) (result i32) (local $a i32)
`)
	for i := range 200000 {
		fmt.Fprintf(&b, "    (local.set $a (i32.add (local.get $a) (i32.mul (local.get $b) (i32.const %d))))\n", i)
	}
	b.WriteString("    (local.get $a)))\n")
	dir := filepath.Join(r.dir, "plugins.d")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	wat, wasm := filepath.Join(r.dir, "heavy.wat"), filepath.Join(dir, "heavy.wasm")
	require.NoError(t, os.WriteFile(wat, []byte(b.String()), 0o644))
	out, err := exec.Command("wat2wasm", wat, "-o", wasm).CombinedOutput()
	require.NoError(t, err, string(out))
	require.NoError(t, os.Chmod(wasm, 0o644))
	r.hostile("heavy", wasm) // kubectl-nnf's module is warm; only the heavy one is cold
	// 100 ms: the module compiles in about a second on an idle 2-core
	// machine, several under load; the timeout must be shorter than both.
	r.extra = "strategies:\n  heavy:\n    file: " + wasm + "\n    timeout: 100ms\n"
	r.write()

	res, first := r.fenceAfterHostile()

	assert.Equal(t, "load-error", first.Outcome)
	assert.Contains(t, first.Error, "compiling took longer than the strategy timeout")
	t.Logf("fence with a cold %d-byte expensive module took %s (100 ms timeout)", fileSize(wasm), res.took)
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// When fenced SIGKILLs the agent (its timeout), the command it was running
// dies with it (the parent-death signal), as docs/RATIONALE.md says; the
// command's own children are what a cgroup has to catch.
func TestSIGKILLedAgentLeavesNoCommandBehind(t *testing.T) {
	r := newRig(t)
	r.warm()
	pidFile := filepath.Join(r.dir, "command.pid")
	r.script(r.kubectl, `echo $$ > `+pidFile+`.tmp && mv `+pidFile+`.tmp `+pidFile+`
exec sleep 300`)
	cmd := r.command("compute-node-3")
	require.NoError(t, cmd.Start())
	var pid int
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			break
		}
	}
	require.NotZero(t, pid, "the command never started")

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	alive := syscall.Kill(pid, 0) == nil
	if alive {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	assert.False(t, alive, "the command %d outlived the SIGKILLed agent", pid)
}
