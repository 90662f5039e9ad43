package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/agent"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
)

// Deferred discovery through the built binary, the way fenced treats it: the
// agent runs in its own process group, and the whole group is SIGKILLed the
// moment the agent exits (what fenced does to an agent at its timeout). The
// detached process, still waiting on a slow kubectl, must survive that and
// append the second record.
func TestDeferredSurvivesProcessGroupKill(t *testing.T) {
	if pluginsErr != nil {
		t.Skipf("built-in strategies did not build: %v", pluginsErr)
	}
	fixture, err := filepath.Abs("../../testdata/nnf/fixtures/clientmounts/compute-node-3.json")
	require.NoError(t, err)
	kubectl := filepath.Join(t.TempDir(), "kubectl")
	// Slow enough that discovery is surely still running at the kill.
	require.NoError(t, os.WriteFile(kubectl, []byte("#!/bin/sh\nsleep 1\nexec cat "+fixture+"\n"), 0o755))
	e := newEnv(t, "builtin_dir: "+pluginsDir+"\ndiscovery:\n  mode: deferred\n  order: [kubectl-nnf]\n"+
		"commands:\n  kubectl:\n    path: "+kubectl+"\n")

	cmd := exec.Command(agentBin)
	cmd.Env = e.environ()
	cmd.Stdin = strings.NewReader("nodename=compute-node-3\naction=off\nport=compute-node-3\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Run(), "stderr: %s", stderr.String())
	// ESRCH means the group is already empty: the detached process left it.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		require.ErrorIs(t, err, syscall.ESRCH)
	}

	evs := e.records()
	require.Len(t, evs, 1, "the agent exits after the pending record only")
	assert.Equal(t, agent.StatePending, evs[0].Discovery.State)
	assert.Equal(t, []string{agent.DiscoveryPending}, evs[0].GFS2Filesystems)

	deadline := time.Now().Add(30 * time.Second)
	for len(evs) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		evs = e.records()
	}
	require.Len(t, evs, 2, "the detached process appends the second record; operational log:\n%s", readFile(t, filepath.Join(e.logDir, record.OperationalFile)))
	second := evs[1]
	assert.Equal(t, evs[0].EventID, second.EventID)
	assert.Equal(t, "off", second.Action)
	assert.Equal(t, "compute-node-3", second.TargetNode)
	assert.Equal(t, agent.StateComplete, second.Discovery.State)
	assert.Equal(t, []string{"default/fluxjob-102-0", "default/projgfs"}, second.GFS2Filesystems)

	rl := readFile(t, filepath.Join(e.logDir, record.ReadableFile))
	assert.Equal(t, 2, strings.Count(rl, "\n"), "a readable line for each record:\n%s", rl)
	assert.Contains(t, rl, `GFS2=["discovery-pending"]`)
	assert.Contains(t, rl, `GFS2=["default/fluxjob-102-0","default/projgfs"]`)
}

// The hidden subcommand run by hand (no job on stdin) fails with a message
// and records nothing.
func TestDeferredSubcommandByHand(t *testing.T) {
	e := newEnv(t, "")
	code, _, stderr := e.run("", agent.DeferredSubcommand)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, agent.DeferredSubcommand)
	_, err := os.Stat(filepath.Join(e.logDir, record.DetailedFile))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
