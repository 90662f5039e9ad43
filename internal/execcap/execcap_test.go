package execcap

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
)

func sh(script string) Command {
	return Command{Name: "sh", Path: "/bin/sh", Args: []string{"-c", script, "sh"}, OutputCap: config.DefaultOutputCap}
}

func grantsFor(allow []string, cmds map[string]config.Command) Grants {
	cfg := config.Config{
		Commands:   cmds,
		Strategies: map[string]config.Strategy{"s": {Allow: allow}},
	}
	return NewGrants(&cfg, "s")
}

// Allow-list: each capability comes as an allowed/denied pair.
func TestAllowListPairs(t *testing.T) {
	cmds := map[string]config.Command{
		"echo":     {Path: "/bin/echo", Args: []string{"fixed"}},
		"true":     {Path: "/bin/true"},
		"relative": {Path: "bin/echo"},
	}
	g := grantsFor([]string{"echo", "relative", "ghost"}, cmds)

	t.Run("allowed and configured runs", func(t *testing.T) {
		c, err := g.Lookup("echo")
		require.NoError(t, err)
		r := Run(context.Background(), c, []string{"guest", "args"})
		assert.Equal(t, 0, r.ExitCode)
		assert.Equal(t, "fixed guest args\n", string(r.Stdout), "fixed args come first")
	})
	t.Run("configured but not allowed is denied", func(t *testing.T) {
		_, err := g.Lookup("true")
		require.ErrorIs(t, err, ErrDenied)
		assert.Contains(t, err.Error(), `"true" is not in strategies.s.allow`)
	})
	t.Run("allowed but not configured is denied", func(t *testing.T) {
		_, err := g.Lookup("ghost")
		require.ErrorIs(t, err, ErrDenied)
		assert.Contains(t, err.Error(), "commands.ghost is not configured")
	})
	t.Run("allowed with a relative path is denied", func(t *testing.T) {
		_, err := g.Lookup("relative")
		require.ErrorIs(t, err, ErrDenied)
		assert.Contains(t, err.Error(), "must be an absolute path")
	})
	t.Run("unknown strategy has no grants", func(t *testing.T) {
		cfg := config.Config{Commands: cmds}
		_, err := NewGrants(&cfg, "other").Lookup("echo")
		require.ErrorIs(t, err, ErrDenied)
		assert.Contains(t, err.Error(), `"echo" is not in strategies.other.allow`)
	})
	assert.Equal(t, []string{"echo"}, g.Names())
}

func TestArgumentsAreNotInterpretedByAShell(t *testing.T) {
	c := Command{Name: "echo", Path: "/bin/echo", OutputCap: 1024}
	r := Run(context.Background(), c, []string{"$(touch /tmp/pwned)", ";", "rm", "-rf", "/", "`id`"})
	assert.Equal(t, "$(touch /tmp/pwned) ; rm -rf / `id`\n", string(r.Stdout))
}

// Environment: passthrough pairs (named vs not named) and set_env.
func TestEnvironmentIsMinimal(t *testing.T) {
	t.Setenv("FGR_PASSED", "yes")
	t.Setenv("FGR_NOT_PASSED", "secret")
	t.Setenv("FGR_NAMED_BUT_UNSET", "")
	os.Unsetenv("FGR_NAMED_BUT_UNSET")
	c := sh("env | sort")
	c.Env = []string{"FGR_PASSED", "FGR_NAMED_BUT_UNSET"}
	c.SetEnv = map[string]string{"KUBECONFIG": "/etc/kube/config"}

	r := Run(context.Background(), c, nil)

	require.Equal(t, 0, r.ExitCode, string(r.Stderr))
	env := string(r.Stdout)
	assert.Contains(t, env, "FGR_PASSED=yes\n")
	assert.Contains(t, env, "KUBECONFIG=/etc/kube/config\n")
	assert.Contains(t, env, "LANG=C\n")
	assert.Contains(t, env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n")
	assert.NotContains(t, env, "FGR_NOT_PASSED")
	assert.NotContains(t, env, "FGR_NAMED_BUT_UNSET")
	assert.NotContains(t, env, "HOME=")
}

func TestExitCodeAndStderrAreReported(t *testing.T) {
	r := Run(context.Background(), sh("echo oops >&2; exit 7"), nil)
	assert.Equal(t, 7, r.ExitCode)
	assert.Equal(t, "oops\n", string(r.Stderr))
	assert.False(t, r.TimedOut)
	assert.NoError(t, r.Err)
}

func TestStartFailure(t *testing.T) {
	r := Run(context.Background(), Command{Name: "nope", Path: "/nonexistent/bin/nope", OutputCap: 10}, nil)
	assert.True(t, r.StartFailed)
	assert.Equal(t, -1, r.ExitCode)
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "no such file")
}

// 100 MB on stdout: the command runs to completion (the excess is drained),
// we keep exactly the cap, and the host's memory stays near the cap.
func TestHugeOutputIsCappedAndDrained(t *testing.T) {
	const capBytes = 1 << 20
	c := sh("head -c 100000000 /dev/zero; echo done >&2")
	c.OutputCap = capBytes
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	r := Run(context.Background(), c, nil)

	runtime.ReadMemStats(&after)
	require.Equal(t, 0, r.ExitCode, "the writer must keep draining so the command can finish")
	assert.Len(t, r.Stdout, capBytes)
	assert.True(t, r.StdoutTruncated)
	assert.Equal(t, "done\n", string(r.Stderr))
	assert.False(t, r.StderrTruncated)
	grew := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, grew, uint64(16<<20), "allocated %d bytes for 100 MB of output", grew)
}

func TestStderrIsCappedToo(t *testing.T) {
	c := sh("head -c 5000 /dev/zero >&2")
	c.OutputCap = 100
	r := Run(context.Background(), c, nil)
	assert.Len(t, r.Stderr, 100)
	assert.True(t, r.StderrTruncated)
	assert.False(t, r.StdoutTruncated)
}

// A command that hangs after forking a child: at the deadline the whole
// process group dies, the child included.
func TestTimeoutKillsTheWholeProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	c := sh(`sleep 300 & echo $! > "$1"; sleep 300`)
	c.Args = append(c.Args, pidFile)
	c.Timeout = 300 * time.Millisecond

	start := time.Now()
	r := Run(context.Background(), c, nil)
	took := time.Since(start)

	assert.True(t, r.TimedOut)
	assert.Equal(t, -1, r.ExitCode)
	assert.Less(t, took, 2*time.Second)
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	child, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return dead(child) }, 2*time.Second, 10*time.Millisecond,
		"child %d of the timed-out command is still alive", child)
}

// The caller's deadline (the strategy's remaining time) caps the command's own.
func TestCallerDeadlineCapsTheCommandTimeout(t *testing.T) {
	c := sh("sleep 300")
	c.Timeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := Run(ctx, c, nil)
	assert.True(t, r.TimedOut)
	assert.Less(t, time.Since(start), 2*time.Second)

	r = Run(ctx, c, nil) // already expired: never started
	assert.True(t, r.TimedOut)
	assert.False(t, r.StartFailed)
}

// A child left behind by a command that exited normally is killed with its group.
func TestLeftoverChildIsKilledWhenTheCommandExits(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	c := sh(`sleep 300 >/dev/null 2>&1 & echo $! > "$1"; exit 0`)
	c.Args = append(c.Args, pidFile)

	r := Run(context.Background(), c, nil)

	assert.Equal(t, 0, r.ExitCode)
	assert.False(t, r.TimedOut)
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	child, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	assert.Eventually(t, func() bool { return dead(child) }, 2*time.Second, 10*time.Millisecond)
}

func TestDeniedErrorUnwrapsToErrDenied(t *testing.T) {
	var err error = &DeniedError{Name: "x", Reason: "because"}
	assert.True(t, errors.Is(err, ErrDenied))
	assert.Equal(t, `exec "x" denied: because`, err.Error())
}

// dead reports whether pid is gone or a zombie (PID 1 in a container may
// not reap orphans promptly).
func dead(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// If the agent dies (pacemaker-fenced SIGKILLs it on its own timeout), the
// command it was running dies with it instead of running on unsupervised.
func TestCommandDiesWithTheAgent(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "cmd.pid")
	agent := exec.Command(os.Args[0], "-test.run=^$")
	agent.Env = append(os.Environ(), helperEnv+"="+pidFile)
	require.NoError(t, agent.Start())
	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)
	require.False(t, dead(pid))

	require.NoError(t, agent.Process.Kill())
	_ = agent.Wait()

	assert.Eventually(t, func() bool { return dead(pid) }, 2*time.Second, 10*time.Millisecond,
		"command %d outlived the SIGKILLed agent", pid)
}

const helperEnv = "FGR_EXECCAP_HELPER_PIDFILE"

// TestMain doubles as the "agent" of TestCommandDiesWithTheAgent: it runs a
// long command through Run, which writes its pid, and waits to be killed.
func TestMain(m *testing.M) {
	if pidFile := os.Getenv(helperEnv); pidFile != "" {
		c := sh(`echo $$ > "$1.tmp" && mv "$1.tmp" "$1"; exec sleep 300`)
		c.Args = append(c.Args, pidFile)
		Run(context.Background(), c, nil)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestFromConfigIsWhatTheGrantsRun(t *testing.T) {
	cfg := config.Defaults()
	cfg.Commands = map[string]config.Command{"cibadmin": {Path: "/usr/sbin/cibadmin", Args: []string{"-l"}}}
	cfg.Strategies = map[string]config.Strategy{"s": {Allow: []string{"cibadmin"}}}
	direct, err := FromConfig(&cfg, "cibadmin")
	require.NoError(t, err)
	granted, err := NewGrants(&cfg, "s").Lookup("cibadmin")
	require.NoError(t, err)
	assert.Equal(t, direct, granted)
	assert.Equal(t, int64(config.DefaultOutputCap), direct.OutputCap, "an unset output cap gets the default")
	assert.Zero(t, direct.Timeout, "timeout 0 stays 0: only the caller's deadline")
}

// A command's child that leaves the process group with setsid survives the
// group kill; reparented to the agent (a child subreaper) when the command
// exits, it is killed there.
func TestDescendantThatCalledSetsidIsKilled(t *testing.T) {
	r := Run(context.Background(), sh(`setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!`), nil)
	require.NoError(t, r.Err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(r.Stdout)))
	require.NoError(t, err)
	// Run returns after killing it; allow for a loaded machine anyway.
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "the setsid grandchild %d outlived its command", pid)
}

// The agent's own children outside any command (a background compile, the
// detached completion process) are not taken for orphans.
func TestAgentsOwnChildrenAreNotOrphans(t *testing.T) {
	own := exec.Command("/bin/sleep", "300")
	own.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	require.NoError(t, own.Start())
	defer own.Process.Kill()
	Spare(own.Process.Pid)

	r := Run(context.Background(), sh(`true`), nil)
	require.NoError(t, r.Err)
	assert.NoError(t, syscall.Kill(own.Process.Pid, 0), "a spared child was killed")
}
