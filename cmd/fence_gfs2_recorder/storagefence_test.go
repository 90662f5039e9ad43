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

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakesos"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/storagefence"
)

// asFenceRecorder is the built agent under the name make install gives its
// symlink, /usr/sbin/fence_recorder.
func asFenceRecorder(t *testing.T) string {
	link := filepath.Join(t.TempDir(), "fence_recorder")
	require.NoError(t, os.Symlink(agentBin, link))
	return link
}

type sfEnv struct {
	*env
	bin, req, resp string
}

func newSFEnv(t *testing.T) *sfEnv {
	d := t.TempDir()
	return &sfEnv{env: newEnv(t, "discovery:\n  enabled: false\n"), bin: asFenceRecorder(t),
		req: filepath.Join(d, "requests"), resp: filepath.Join(d, "responses")}
}

// guide is stdin as pacemaker-fenced sends it for a device created the way
// NNF's HA guide creates fence_recorder (port, request_dir, response_dir,
// log_dir; pcmk_host_list is not passed to agents).
func (s *sfEnv) guide(action string) string {
	return "action=" + action + "\nnodename=rabbit-compute-3\nport=rabbit-compute-3\nrequest_dir=" + s.req +
		"\nresponse_dir=" + s.resp + "\nlog_dir=" + s.logDir + "\n"
}

func (s *sfEnv) start(stdin string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.environ()
	cmd.Dir = s.t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	require.NoError(s.t, cmd.Start())
	return cmd, &errBuf
}

// exitCode is the exit code of a command that ran; any other error fails
// the test.
func exitCode(t *testing.T, err error, msgAndArgs ...any) int {
	t.Helper()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	require.NoError(t, err, msgAndArgs...)
	return 0
}

// The HA guide's device works unchanged when the binary is fence_recorder:
// success, failure, and the status that follows.
func TestBinaryAsFenceRecorder(t *testing.T) {
	s := newSFEnv(t)
	fakesos.StartT(t, fakesos.Config{RequestDir: s.req, ResponseDir: s.resp,
		Behaviour: fakesos.PerTarget(map[string]fakesos.Answer{"rabbit-compute-9": {Shape: fakesos.R1, Success: false}},
			fakesos.Answer{Shape: fakesos.R1, Success: true})})

	cmd, stderr := s.start(s.guide("reboot"))
	require.Equal(t, 0, exitCode(t, cmd.Wait()), stderr.String())
	evs := s.records()
	require.Len(t, evs, 1)
	assert.Equal(t, "fenced", evs[0].Status)
	require.NotNil(t, evs[0].StorageFence)
	assert.Equal(t, storagefence.OutcomeFenced, evs[0].StorageFence.Outcome)

	cmd, _ = s.start(strings.ReplaceAll(s.guide("off"), "rabbit-compute-3", "rabbit-compute-9"))
	assert.Equal(t, 1, exitCode(t, cmd.Wait()))
	assert.Equal(t, "refused", s.records()[1].Status)

	cmd, _ = s.start(s.guide("status"))
	assert.Equal(t, 2, exitCode(t, cmd.Wait()), "OFF while the marker exists")
}

// SPEC §7 items 22, 23: SIGTERM while waiting: a failure record, exit 1,
// and the request withdrawn before exit.
func TestBinarySIGTERMWithdrawsRequest(t *testing.T) {
	s := newSFEnv(t)
	sos := fakesos.StartT(t, fakesos.Config{RequestDir: s.req, ResponseDir: s.resp,
		Behaviour: fakesos.Always(fakesos.Answer{Silent: true})})
	cmd, stderr := s.start(s.guide("off"))
	deadline := time.Now().Add(20 * time.Second)
	for len(sos.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.Len(t, sos.Requests(), 1, "request published")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 1, exitCode(t, cmd.Wait()), stderr.String())
	evs := s.records()
	require.Len(t, evs, 1)
	assert.Equal(t, "error", evs[0].Status)
	assert.True(t, evs[0].StorageFence.Withdrawn)
	es, err := os.ReadDir(s.req)
	require.NoError(t, err)
	assert.Empty(t, es)
}

// SPEC §7 item 4: the metadata advertises the upstream parameters and
// validates; it has no side effects even under the fence_recorder name.
func TestBinaryMetadataAsFenceRecorder(t *testing.T) {
	s := newSFEnv(t)
	cmd := exec.Command(s.bin, "-o", "metadata")
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	require.NoError(t, err)
	for _, p := range []string{"action", "plug", "port", "request_dir", "response_dir", "log_dir", "nnf_storage_fence", "fence_timeout", "poll_interval"} {
		assert.Contains(t, string(out), `<parameter name="`+p+`"`, p)
	}
	assert.Contains(t, string(out), `<action name="on" automatic="0"/>`)
	assert.NoDirExists(t, s.req)
	rng := "/usr/share/cluster/relaxng/metadata.rng"
	if _, err := os.Stat(rng); err != nil {
		t.Skip("fence-agents not installed (Debian package fence-agents)")
	}
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Skip("xmllint not installed (Debian package libxml2-utils)")
	}
	x := exec.Command("xmllint", "--noout", "--relaxng", rng, "-")
	x.Stdin = bytes.NewReader(out)
	res, err := x.CombinedOutput()
	require.NoError(t, err, "%s", res)
}

// The admin subcommands through the binary.
func TestBinaryMarkersAndUnfence(t *testing.T) {
	s := newSFEnv(t)
	fakesos.StartT(t, fakesos.Config{RequestDir: s.req, ResponseDir: s.resp})
	cmd, _ := s.start(s.guide("off"))
	require.Equal(t, 0, exitCode(t, cmd.Wait()))

	code, out, stderr := s.run("", "--response-dir", s.resp, "markers")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "rabbit-compute-3\t")
	assert.Contains(t, out, fakesos.MessageR2)

	code, out, stderr = s.run("", "unfence", "rabbit-compute-3", "--yes", "--response-dir", s.resp, "--request-dir", s.req)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "removed ")
	es, err := os.ReadDir(s.resp)
	require.NoError(t, err)
	assert.Empty(t, es)
}

// Discovery runs with the real wasm strategies while nnf-sos works: with an
// answer that takes a second, the chain has finished and is in the record.
func TestBinaryStorageFenceDiscoversBeside(t *testing.T) {
	if pluginsErr != nil {
		t.Skip(pluginsErr)
	}
	s := newSFEnv(t)
	s.env = newEnv(t, "commands:\n  kubectl: {path: /nonexistent/kubectl}\n  pcs: {path: /nonexistent/pcs}\n"+
		"  crm_mon: {path: /nonexistent/crm_mon}\n  cibadmin: {path: /nonexistent/cibadmin}\n")
	// As the packages do after install: a cold compile alone can outlast
	// the answer on a loaded machine.
	code, _, stderr := s.run("", "plugins", "warm")
	require.Equal(t, 0, code, stderr)
	fakesos.StartT(t, fakesos.Config{RequestDir: s.req, ResponseDir: s.resp,
		Behaviour: fakesos.Always(fakesos.Answer{Shape: fakesos.R1, Success: true, Delay: 2 * time.Second})})
	cmd, errBuf := s.start(s.guide("off"))
	require.Equal(t, 0, exitCode(t, cmd.Wait()), errBuf.String())
	ev := s.records()[0]
	assert.Equal(t, "fenced", ev.Status)
	assert.True(t, ev.Discovery.Enabled)
	require.Len(t, ev.Discovery.Attempts, 3, "every strategy ran and ended before the answer")
	for _, a := range ev.Discovery.Attempts {
		assert.NotEqual(t, "skipped", string(a.Outcome), "%s: %s (%.0f ms)", a.Strategy, a.Error, a.DurationMS)
	}
	assert.Equal(t, []string{"none-detected"}, ev.GFS2Filesystems)
}
