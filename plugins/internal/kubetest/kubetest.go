// Package kubetest runs the real kubectl for the native tests of the
// Kubernetes plugins (kubectl-nnf, k8s-event) against a loopback fake API
// server (internal/fakekube), the way the host runs commands. Only _test
// files import it.
package kubetest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// KubectlPath is the kubectl the tests run (Debian's kubectl package).
const KubectlPath = "/usr/bin/kubectl"

// Start starts a fake API server with opts, closed when t ends.
func Start(t testing.TB, opts fakekube.Options) *fakekube.Server {
	t.Helper()
	s, err := fakekube.Start(opts)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// Context is a plugin.Context whose Exec and ExecInput really run kubectl,
// the way the host does: argv directly, a minimal environment with
// KUBECONFIG set, its own process group killed at the deadline.
type Context struct {
	// Timeout is each command's deadline (10 s unless a test changes it).
	Timeout time.Duration

	kubeconfig string
	home       string
	logger     *plugin.Logger
	mu         sync.Mutex
	logs       []string
}

// NewContext returns a Context running kubectl against s, or skips t when
// kubectl is not installed.
func NewContext(t testing.TB, s *fakekube.Server) *Context {
	t.Helper()
	if _, err := os.Stat(KubectlPath); err != nil {
		t.Skipf("SKIPPED: %s not installed (%v): install the kubectl package", KubectlPath, err)
	}
	dir := t.TempDir()
	kc, err := s.WriteKubeconfig(dir)
	require.NoError(t, err)
	c := &Context{Timeout: 10 * time.Second, kubeconfig: kc, home: dir}
	c.logger = plugin.NewLogger(func(_ plugin.Level, msg string) {
		c.mu.Lock()
		c.logs = append(c.logs, msg)
		c.mu.Unlock()
	})
	return c
}

// Exec runs kubectl with args; any other command is denied.
func (c *Context) Exec(name string, args ...string) (*plugin.ExecResult, error) {
	return c.ExecInput(nil, name, args...)
}

// ExecInput is Exec with stdin as kubectl's standard input (none if nil).
func (c *Context) ExecInput(stdin []byte, name string, args ...string) (*plugin.ExecResult, error) {
	if name != "kubectl" {
		return nil, errors.New("exec " + name + ": " + plugin.ErrDenied.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	cmd := exec.Command(KubectlPath, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "HOME=" + c.home, "KUBECONFIG=" + c.kubeconfig}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	res := &plugin.ExecResult{}
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			res.ExitCode = ee.ExitCode()
		} else if err != nil {
			return nil, err
		}
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		res.ExitCode, res.TimedOut = -1, true
	}
	res.Stdout, res.Stderr = out.Bytes(), errb.Bytes()
	return res, nil
}

// Logger collects what the plugin logs (see Logs).
func (c *Context) Logger() *plugin.Logger { return c.logger }

// Logs is every message the plugin logged so far.
func (c *Context) Logs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.logs...)
}
