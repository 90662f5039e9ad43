package host

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
)

func shCommand(script string, extra ...string) config.Command {
	return config.Command{Path: "/bin/sh", Args: append([]string{"-c", script, "sh"}, extra...),
		Timeout: 5 * time.Second, OutputCap: config.DefaultOutputCap}
}

func execStrategy(cfg *config.Config, command string, args []any, allow ...string) {
	addStrategy(cfg, "runner", guest("tester"), map[string]any{
		"mode": "exec", "command": command, "args": args, "filesystems": []any{"ran/ok"}}, allow...)
}

// The same command, allowed and then not: the pair shows the allow-list,
// not the command, decides.
func TestExecAllowedAndDeniedPair(t *testing.T) {
	t.Run("allowed", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.Commands["hello"] = shCommand(`echo "hello $1"`)
		execStrategy(cfg, "hello", []any{"compute-3"}, "hello")

		rep := runChain(t, cfg, "n", nil)

		a := rep.Attempts[0]
		require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
		assert.Equal(t, "hello compute-3\n", a.Details["stdout_head"])
		require.Len(t, a.Calls, 1)
		c := a.Calls[0]
		assert.Equal(t, "hello", c.Command)
		assert.Equal(t, []string{"compute-3"}, c.Args)
		assert.Equal(t, 0, c.ExitCode)
		assert.False(t, c.Denied)
		assert.Greater(t, c.DurationMS, 0.0)
	})
	t.Run("denied", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.Commands["hello"] = shCommand(`echo "hello $1"`)
		execStrategy(cfg, "hello", []any{"compute-3"}) // configured, not allowed
		addStrategy(cfg, "next", guest("tester"), map[string]any{"filesystems": []any{"x/y"}})

		rep := runChain(t, cfg, "n", nil)

		assert.Equal(t, []discovery.Outcome{discovery.OutcomeDenied, discovery.OutcomeFound}, outcomes(rep))
		a := rep.Attempts[0]
		assert.Contains(t, a.Error, `"hello" is not in strategies.runner.allow`)
		assert.Equal(t, true, a.Details["denied"], "the guest sees errors.Is(err, plugin.ErrDenied)")
		require.Len(t, a.Calls, 1)
		assert.True(t, a.Calls[0].Denied)
		assert.Equal(t, -1, a.Calls[0].ExitCode)
	})
	t.Run("allowed but not configured", func(t *testing.T) {
		cfg := testConfig(t)
		execStrategy(cfg, "kubectl", nil, "kubectl")

		rep := runChain(t, cfg, "n", nil)

		assert.Equal(t, discovery.OutcomeDenied, rep.Attempts[0].Outcome)
		assert.Contains(t, rep.Attempts[0].Error, "commands.kubectl is not configured")
	})
}

func TestExecFailureIsAnErrorWithStderr(t *testing.T) {
	cfg := testConfig(t)
	cfg.Commands["failing"] = shCommand(`echo "no route to apiserver" >&2; exit 3`)
	execStrategy(cfg, "failing", nil, "failing")

	rep := runChain(t, cfg, "n", nil)

	a := rep.Attempts[0]
	assert.Equal(t, discovery.OutcomeError, a.Outcome)
	assert.Equal(t, "command failing exited with status 3: no route to apiserver", a.Error)
	require.Len(t, a.Calls, 1)
	assert.Equal(t, 3, a.Calls[0].ExitCode)
	assert.Equal(t, "no route to apiserver\n", a.Calls[0].Stderr)
}

func TestExecStartFailureIsAnError(t *testing.T) {
	cfg := testConfig(t)
	cfg.Commands["missing"] = config.Command{Path: "/nonexistent/kubectl"}
	execStrategy(cfg, "missing", nil, "missing")

	rep := runChain(t, cfg, "n", nil)

	a := rep.Attempts[0]
	assert.Equal(t, discovery.OutcomeError, a.Outcome)
	assert.Contains(t, a.Error, "/nonexistent/kubectl")
	require.Len(t, a.Calls, 1)
	assert.Contains(t, a.Calls[0].Error, "no such file")
}

// 100 MB of stdout reaches the guest capped; the frame protocol copes with a
// megabyte-sized result.
func TestExecHugeOutputIsCappedForTheGuest(t *testing.T) {
	cfg := testConfig(t)
	cmd := shCommand("head -c 100000000 /dev/zero | tr '\\0' x")
	cmd.OutputCap = 2 << 20
	cfg.Commands["flood"] = cmd
	execStrategy(cfg, "flood", nil, "flood")

	rep := runChain(t, cfg, "n", nil)

	a := rep.Attempts[0]
	require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
	assert.EqualValues(t, "2097152", jsonNumber(a.Details["stdout_len"]))
	assert.Equal(t, true, a.Details["stdout_truncated"])
	assert.Equal(t, strings.Repeat("x", 200), a.Details["stdout_head"])
	assert.True(t, a.Calls[0].Truncated)
}

// A command that hangs: at the command's deadline the guest sees a
// timed-out result and the attempt is a timeout. That the command's
// children die with it is execcap's (TestTimeoutKillsTheWholeProcessGroup).
func TestExecHangingCommandIsATimeout(t *testing.T) {
	cfg := testConfig(t)
	cmd := shCommand("sleep 300")
	cmd.Timeout = 300 * time.Millisecond
	cfg.Commands["hang"] = cmd
	execStrategy(cfg, "hang", nil, "hang")
	addStrategy(cfg, "next", guest("tester"), map[string]any{"filesystems": []any{"x/y"}})

	rep := runChain(t, cfg, "n", nil)

	assert.Equal(t, []discovery.Outcome{discovery.OutcomeTimeout, discovery.OutcomeFound}, outcomes(rep))
	a := rep.Attempts[0]
	assert.Equal(t, "command hang timed out (limit commands.hang.timeout, or the strategy's timeout when less of it remained)", a.Error)
	require.Len(t, a.Calls, 1)
	assert.True(t, a.Calls[0].TimedOut)
	assert.Equal(t, true, a.Details["timed_out"])
}

// The strategy's remaining time caps a command's longer timeout.
func TestStrategyTimeoutCapsACommand(t *testing.T) {
	cfg := testConfig(t)
	cmd := shCommand("sleep 300")
	cmd.Timeout = time.Minute
	cfg.Commands["slow"] = cmd
	execStrategy(cfg, "slow", nil, "slow")
	setStrategy(cfg, "runner", func(s *config.Strategy) { s.Timeout = 400 * time.Millisecond })

	start := time.Now()
	rep := runChain(t, cfg, "n", nil)

	assert.Equal(t, discovery.OutcomeTimeout, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func jsonNumber(v any) string {
	if s, ok := v.(interface{ String() string }); ok {
		return s.String()
	}
	return "not a number"
}
