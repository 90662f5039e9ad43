package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests do what docs/PLUGINS.md tells a site to do, with the real
// agent: build the strategy as a .wasm with the documented command, verify
// it, drop it into a plugins.d directory, grant it a command in the config,
// run it with `plugins run`, and have a fence as pacemaker-fenced sends it
// record its answer.

var (
	workDir  string // plugins.d, config, logs, cache of this test run
	agentBin string
	wasmFile string // <workDir>/plugins.d/site-inventory.wasm
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "fgr-site-inventory-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		// The agent refuses modules in directories others can write.
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		workDir = dir
		agentBin = filepath.Join(dir, "bin", "fence_gfs2_recorder")
		wasmFile = filepath.Join(dir, "plugins.d", Name+".wasm")
		builds := [][]string{
			{"go", "build", "-o", agentBin, "github.com/NearNodeFlash/fence-gfs2-recorder/cmd/fence_gfs2_recorder"},
			{"env", "GOOS=wasip1", "GOARCH=wasm", "go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", wasmFile, "."},
		}
		for _, b := range builds {
			if out, err := exec.Command(b[0], b[1:]...).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n%s", strings.Join(b, " "), err, out)
				return 1
			}
		}
		return m.Run()
	}())
}

// site is one agent configuration around the built strategy.
type site struct {
	t      *testing.T
	dir    string
	config string
	logDir string
}

// newSite writes a config like the one in docs/PLUGINS.md: the strategy
// first in the chain, the inventory command pinned to one file by fixed
// args, and the grant (allow) unless withoutGrant.
func newSite(t *testing.T, withoutGrant bool) *site {
	t.Helper()
	cat, err := exec.LookPath("cat")
	require.NoError(t, err)
	dir := t.TempDir()
	inv := filepath.Join(dir, "site-inventory.tsv")
	shipped, err := os.ReadFile("site-inventory.tsv")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(inv, shipped, 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "builtin"), 0o755))
	allow := "[inventory]"
	if withoutGrant {
		allow = "[]"
	}
	s := &site{t: t, dir: dir, config: filepath.Join(dir, "config.yaml"), logDir: filepath.Join(dir, "log")}
	cfg := fmt.Sprintf(`log_dir: %s
cache_dir: %s
plugin_dir: %s
builtin_dir: %s
discovery:
  order: [site-inventory]
commands:
  inventory:
    path: %s
    args: [%s]
    timeout: 2s
strategies:
  site-inventory:
    allow: %s
    timeout: 5s
    config:
      patterns: true
`, s.logDir, filepath.Join(workDir, "cache"), filepath.Dir(wasmFile), filepath.Join(dir, "builtin"), cat, inv, allow)
	require.NoError(t, os.WriteFile(s.config, []byte(cfg), 0o644))
	return s
}

func (s *site) agent(stdin string, args ...string) (string, string, int) {
	s.t.Helper()
	cmd := exec.Command(agentBin, args...)
	cmd.Env = append(os.Environ(), "FENCE_GFS2_RECORDER_CONFIG="+s.config)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(s.t, err)
	}
	return stdout.String(), stderr.String(), code
}

func TestPluginsVerifyAcceptsTheBuiltModule(t *testing.T) {
	s := newSite(t, false)
	out, stderr, code := s.agent("", "plugins", "verify", wasmFile)
	require.Equal(t, 0, code, "verify: %s%s", out, stderr)
	assert.Contains(t, out, `strategy "site-inventory"`)
	assert.Contains(t, out, "ABI 1")
}

// A module others could replace would run as root on the fence path: the
// agent refuses it, and says how to fix it.
func TestPluginsVerifyRefusesAGroupWritableModule(t *testing.T) {
	s := newSite(t, false)
	dir := filepath.Join(t.TempDir(), "unsafe")
	require.NoError(t, os.Mkdir(dir, 0o755))
	unsafe := filepath.Join(dir, Name+".wasm")
	b, err := os.ReadFile(wasmFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(unsafe, b, 0o644))
	require.NoError(t, os.Chmod(unsafe, 0o664))
	out, stderr, code := s.agent("", "plugins", "verify", unsafe)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, out+stderr, "chmod go-w")
}

func TestPluginsListFindsTheDropIn(t *testing.T) {
	s := newSite(t, false)
	out, stderr, code := s.agent("", "plugins", "list")
	require.Equal(t, 0, code, "list: %s%s", out, stderr)
	assert.Regexp(t, `(?m)^1\s+site-inventory\s+1\s+verified\s+`+regular(wasmFile)+` \(plugin-dir\)`, out)
}

func TestPluginsRunShowsAnswerAndTrace(t *testing.T) {
	s := newSite(t, false)
	out, stderr, code := s.agent("", "plugins", "run", Name, "--node", "compute-node-1", "--json")
	require.Equal(t, 0, code, "run: %s%s", out, stderr)
	var a struct {
		Strategy    string   `json:"strategy"`
		Outcome     string   `json:"outcome"`
		Filesystems []string `json:"filesystems"`
		Calls       []struct {
			Command  string `json:"command"`
			ExitCode int    `json:"exit_code"`
		} `json:"calls"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &a), out)
	assert.Equal(t, "found", a.Outcome)
	assert.Equal(t, []string{"proj-a-gfs2", "scratch-gfs2"}, a.Filesystems)
	require.Len(t, a.Calls, 1)
	assert.Equal(t, "inventory", a.Calls[0].Command)
	assert.Equal(t, 0, a.Calls[0].ExitCode)
}

// A fence exactly as pacemaker-fenced sends it (no argv, key=value on
// stdin, unknown keys included) is recorded with the strategy's answer.
func TestFenceRecordsTheSiteAnswer(t *testing.T) {
	s := newSite(t, false)
	stdin := "nodename=compute-node-2\naction=reboot\nport=compute-node-2\nsome_param=value\n"
	_, stderr, code := s.agent(stdin)
	require.Equal(t, 0, code, stderr)
	rec := lastDetailed(t, s.logDir)
	assert.Equal(t, []string{"proj-b-gfs2", "scratch-gfs2"}, rec.GFS2Filesystems)
	assert.Equal(t, Name, rec.Discovery.Strategy)
	require.Len(t, rec.Discovery.Attempts, 1)
	assert.Equal(t, filepath.Clean(wasmFile), filepath.Clean(rec.Discovery.Attempts[0].Source))
}

// Without the grant the strategy runs nothing: the record says denied, the
// fence still succeeds with the none-detected sentinel.
func TestFenceWithoutGrantIsDenied(t *testing.T) {
	s := newSite(t, true)
	_, stderr, code := s.agent("nodename=compute-node-2\naction=off\n")
	require.Equal(t, 0, code, stderr)
	rec := lastDetailed(t, s.logDir)
	assert.Equal(t, []string{"none-detected"}, rec.GFS2Filesystems)
	require.Len(t, rec.Discovery.Attempts, 1)
	assert.Equal(t, "denied", rec.Discovery.Attempts[0].Outcome)
}

type detailed struct {
	GFS2Filesystems []string `json:"gfs2_filesystems"`
	Discovery       struct {
		Strategy string `json:"strategy"`
		Attempts []struct {
			Source  string `json:"source"`
			Outcome string `json:"outcome"`
		} `json:"attempts"`
	} `json:"discovery"`
}

func lastDetailed(t *testing.T, logDir string) detailed {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(logDir, "fence-events-detailed.jsonl"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var d detailed
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &d))
	return d
}

func regular(s string) string {
	return strings.NewReplacer(".", `\.`, "(", `\(`, ")", `\)`, "+", `\+`).Replace(s)
}
