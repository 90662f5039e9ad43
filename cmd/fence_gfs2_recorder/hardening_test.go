package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record/recordtest"
)

// Faults in the log directory, tried as an attacker and as bad luck would:
// every one still ends with the record on stderr, exit 0, and a monitor
// that fails naming the path and the fix.

// hangBound is far above what any of these runs takes; reaching it means
// the agent hung (a FIFO, a held stdin, a held lock).
const hangBound = 60 * time.Second

// runBounded is env.run that kills the agent at hangBound and fails.
func (e *env) runBounded(stdin string) (code int, stderr string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, agentBin)
	cmd.Env = e.environ()
	cmd.Dir = e.t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	var s bytes.Buffer
	cmd.Stderr = &s
	err := cmd.Run()
	require.NoError(e.t, ctx.Err(), "the agent hung; stderr: %s", s.String())
	return exitCode(e.t, err), s.String()
}

const fenceOff = "action=off\nnodename=compute-node-3\ngfs2_discovery=0\n"

// assertFallback: the fence answered 0 and the record is on stderr with
// the reason.
func assertFallback(t *testing.T, code int, stderr, reason string) {
	t.Helper()
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "could not write the fence record to the log directory")
	assert.Contains(t, stderr, `"target_node":"compute-node-3"`)
	assert.Contains(t, stderr, reason)
}

// assertMonitorFails: monitor exits 1 naming the log directory problem.
func assertMonitorFails(t *testing.T, e *env, want ...string) {
	t.Helper()
	code, stderr := e.runBounded("action=monitor\n")
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "monitor: log directory: ")
	for _, w := range want {
		assert.Contains(t, stderr, w)
	}
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (file owners, modes and mounts): run the tests as root")
	}
}

// A symbolic link planted as the detailed log is not followed: the file it
// points at is untouched.
func TestPlantedSymlinkIsNotFollowed(t *testing.T) {
	e := newEnv(t, "")
	require.NoError(t, os.MkdirAll(e.logDir, 0o750))
	victim := filepath.Join(t.TempDir(), "root-only")
	require.NoError(t, os.WriteFile(victim, []byte("secret\n"), 0o600))
	require.NoError(t, os.Symlink(victim, filepath.Join(e.logDir, record.DetailedFile)))

	code, stderr := e.runBounded(fenceOff)
	assertFallback(t, code, stderr, "is a symbolic link")
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, "secret\n", string(b), "the link's target gained nothing")
	assertMonitorFails(t, e, filepath.Join(e.logDir, record.DetailedFile)+" is a symbolic link; fix: remove it")
}

// A FIFO as the detailed log neither hangs the fence nor the monitor.
func TestFIFOInTheLogDirectoryDoesNotHang(t *testing.T) {
	e := newEnv(t, "")
	require.NoError(t, os.MkdirAll(e.logDir, 0o750))
	fifo := filepath.Join(e.logDir, record.DetailedFile)
	require.NoError(t, syscall.Mkfifo(fifo, 0o640))

	code, stderr := e.runBounded(fenceOff)
	assertFallback(t, code, stderr, "is a FIFO or a device, not a regular file")
	assertMonitorFails(t, e, fifo+" is a FIFO")

	// With a reader on the FIFO the open succeeds; the type check refuses it.
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	require.NoError(t, err)
	defer r.Close()
	code, stderr = e.runBounded(fenceOff)
	assertFallback(t, code, stderr, "is not a regular file (a FIFO)")
}

// Unsafe modes and owners of the directory and the files are refused.
func TestUnsafeModesAndOwnersAreRefused(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name   string
		fault  func(dir string) error
		reason string
		fix    string
	}{
		{"world-writable directory", func(dir string) error { return os.Chmod(dir, 0o777) },
			"is writable by group or others (mode 0777)", "fix: chmod 0750 "},
		{"sticky world-writable directory", func(dir string) error { return os.Chmod(dir, 0o777|os.ModeSticky) },
			"(mode 1777)", "fix: chmod 0750 "},
		{"directory owned by nobody", func(dir string) error { return os.Chown(dir, 65534, 65534) },
			"is owned by uid 65534, not root", "fix: chown root: "},
		{"group-writable log file", func(dir string) error {
			f := filepath.Join(dir, record.ReadableFile)
			if err := os.WriteFile(f, nil, 0o640); err != nil {
				return err
			}
			return os.Chmod(f, 0o660)
		}, "is writable by group or others (mode 0660)", "fix: chmod 0640 "},
		{"log file owned by nobody", func(dir string) error {
			f := filepath.Join(dir, record.DetailedFile)
			if err := os.WriteFile(f, nil, 0o640); err != nil {
				return err
			}
			return os.Chown(f, 65534, 65534)
		}, "is owned by uid 65534, not root", "fix: chown root: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "")
			require.NoError(t, os.MkdirAll(e.logDir, 0o750))
			require.NoError(t, tc.fault(e.logDir))
			code, stderr := e.runBounded(fenceOff)
			assertFallback(t, code, stderr, tc.reason)
			assertMonitorFails(t, e, tc.reason, tc.fix)
		})
	}
}

// A lock held past LockWait: the record goes to the fallback, logged at
// ERROR, and is never appended unlocked.
func TestHeldLockSendsTheRecordToTheFallback(t *testing.T) {
	e := newEnv(t, "")
	require.NoError(t, os.MkdirAll(e.logDir, 0o750))
	f, err := os.OpenFile(filepath.Join(e.logDir, record.DetailedFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))

	code, stderr := e.runBounded(fenceOff)
	assertFallback(t, code, stderr, "another process has held it for more than")
	assert.Regexp(t, `level=ERROR msg="fence record not written`, stderr)
	b, err := os.ReadFile(filepath.Join(e.logDir, record.DetailedFile))
	require.NoError(t, err)
	assert.Empty(t, b, "nothing appended without the lock")
}

// SIGHUP and SIGQUIT end the delay as SIGTERM does: the record is written.
func TestSighupAndSigquitStillRecord(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) { signalDuringDelayStillRecords(t, sig) })
	}
}

// A writer that never closes stdin: the agent goes on after the idle wait
// with what it read, records, and says so in the record.
func TestStdinHeldOpenStillRecords(t *testing.T) {
	e := newEnv(t, "discovery:\n  enabled: false\n")
	cmd := exec.Command(agentBin)
	cmd.Env = e.environ()
	w, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, cmd.Start())
	_, err = io.WriteString(w, "action=off\nnodename=compute-node-3\n")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(hangBound):
		_ = cmd.Process.Kill()
		t.Fatal("the agent waited for stdin's end")
	}
	evs := e.records()
	require.Len(t, evs, 1)
	assert.Equal(t, "compute-node-3", evs[0].TargetNode)
	assert.Contains(t, strings.Join(evs[0].InputWarnings, "\n"), "stdin: still open after 2s without data")
}

// One typo and one bad value in the file cost those keys only: the record
// lands in the file's log_dir with the problems in it, and monitor fails.
func TestPartlyInvalidConfigKeepsTheRest(t *testing.T) {
	e := newEnv(t, "delay: soon\ndiscovery:\n  enabled: false\n  budgett: 5s\n")
	code, stderr := e.runBounded("action=off\nnodename=compute-node-3\n")
	require.Equal(t, 0, code, stderr)
	evs := e.records()
	require.Len(t, evs, 1, "recorded in the file's log_dir")
	assert.Contains(t, evs[0].ConfigError, `delay: "soon" is not a duration (from file:`)
	assert.Contains(t, evs[0].ConfigError, `discovery.budgett: unknown key (did you mean "budget"?)`)
	assert.False(t, evs[0].Discovery.Enabled, "the file's discovery.enabled held")

	code, stderr = e.runBounded("action=monitor\n")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "monitor: configuration: invalid configuration values ignored: delay:")
	code, stderr = e.runBounded("action=validate-all\n")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "discovery.budgett")
}

// log_dir=/etc from stdin: nothing is created there, validate-all and
// monitor say why, and the fence records in the built-in log directory.
// The agent runs in a private mount namespace with a temporary directory
// over /var/log, so the built-in directory is not this machine's.
func TestStdinLogDirInEtcIsRefused(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare not found: install util-linux")
	}
	varLog := t.TempDir()
	etcDir := fmt.Sprintf("/etc/fgr-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { _ = os.RemoveAll(etcDir) }) // only if the test fails
	e := newEnv(t, "discovery:\n  enabled: false\n")
	// The config file's log_dir is valid: only stdin's is refused.
	script := `mount --make-rprivate / && mount --bind "$1" /var/log && exec "$2"`
	run := func(stdin string) (int, string) {
		cmd := exec.Command("unshare", "--mount", "sh", "-c", script, "sh", varLog, agentBin)
		cmd.Env = e.environ()
		cmd.Stdin = strings.NewReader(stdin)
		var s bytes.Buffer
		cmd.Stderr = &s
		err := cmd.Run()
		return exitCode(t, err, s.String()), s.String()
	}
	if code, out := run("action=status\n"); code != 0 {
		t.Skipf("no private mount namespace here: %s", out)
	}
	code, stderr := run("action=off\nnodename=compute-node-3\nlog_dir=" + etcDir + "\n")
	require.Equal(t, 0, code, stderr)
	_, err := os.Lstat(etcDir)
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing created under /etc")
	evs := readEvents(t, filepath.Join(varLog, "gfs2-fencing"))
	require.Len(t, evs, 1, "recorded in the built-in log directory")
	assert.Contains(t, evs[0].ConfigError, `log_dir: "`+etcDir+`" is under /etc, where a path from stdin may not point`)

	for _, action := range []string{"validate-all", "monitor"} {
		code, stderr = run("action=" + action + "\nlog_dir=" + etcDir + "\n")
		assert.Equal(t, 1, code, action)
		assert.Contains(t, stderr, "is under /etc, where a path from stdin may not point (allow it in the configuration file with allowed_stdin_paths", action)
	}
	_, err = os.Lstat(etcDir)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func readEvents(t *testing.T, dir string) []record.Event {
	t.Helper()
	return recordtest.Read[record.Event](t, dir)
}
