package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/host"
)

// testerWasm serves one strategy; multiWasm serves two, alpha and beta;
// needyWasm declares the commands it needs; commandWasm is needy built
// without -buildmode=c-shared (a WASI command, not a reactor).
var testerWasm, multiWasm, needyWasm, commandWasm, tmpRoot string

// TestMain builds the host's test guest from source (nothing compiled is
// committed).
func TestMain(m *testing.M) {
	var err error
	tmpRoot, err = os.MkdirTemp("", "admin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testerWasm = filepath.Join(tmpRoot, "tester.wasm")
	multiWasm = filepath.Join(tmpRoot, "multi.wasm")
	needyWasm = filepath.Join(tmpRoot, "needy.wasm")
	commandWasm = filepath.Join(tmpRoot, "command.wasm")
	for out, src := range map[string]string{testerWasm: "../testdata/guests/tester", multiWasm: "../testdata/guests/multi",
		needyWasm: "./testdata/needy", commandWasm: "./testdata/needy"} {
		mode := "-buildmode=c-shared"
		if out == commandWasm {
			mode = "-buildmode=exe"
		}
		cmd := exec.Command("go", "build", mode, "-trimpath", "-ldflags=-s -w", "-o", out, src)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building the test guest %s: %v\n%s", src, err, b)
			os.Exit(1)
		}
		_ = os.Chmod(out, 0o644)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

func testConfig(t *testing.T) *config.Config {
	cfg := config.Defaults()
	cfg.CacheDir = filepath.Join(tmpRoot, "cache")
	cfg.BuiltinDir = filepath.Join(t.TempDir(), "builtin")
	cfg.PluginDir = t.TempDir()
	cfg.Commands = map[string]config.Command{
		"greet": {Path: "/bin/sh", Args: []string{"-c", `echo "hi $1"; echo warn >&2`, "sh"}, Timeout: 5 * time.Second},
	}
	cfg.Strategies = map[string]config.Strategy{
		"good": {File: testerWasm, Timeout: 5 * time.Second, Allow: []string{"greet"},
			Config: map[string]any{"mode": "exec", "command": "greet", "args": []any{"node-1"}, "filesystems": []any{"default/fs1"}}},
		"missing": {File: "/nonexistent/missing.wasm"},
	}
	cfg.Discovery.Order = []string{"good", "missing"}
	return &cfg
}

func runMain(t *testing.T, cfg *config.Config, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), cfg, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestListShowsOrderSourceAndVerification(t *testing.T) {
	cfg := testConfig(t)
	drop := filepath.Join(cfg.PluginDir, "site-extra.wasm")
	b, err := os.ReadFile(testerWasm)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(drop, b, 0o644))

	code, out, _ := runMain(t, cfg, "plugins", "list")

	assert.Equal(t, 1, code, "one configured strategy is missing")
	lines := strings.Split(out, "\n")
	require.GreaterOrEqual(t, len(lines), 4, out)
	assert.Regexp(t, `^1\s+good\s+1\s+verified\s+`+regexpQuote(testerWasm)+` \(file\)\s+go-sdk/`, lines[1])
	assert.Regexp(t, `^2\s+missing\s+-\s+NOT VERIFIED`, lines[2])
	assert.Regexp(t, `^-\s+site-extra\s+1\s+verified\s+.*\(plugin-dir\)`, lines[3])
	assert.Contains(t, out, "missing: module /nonexistent/missing.wasm does not exist")
}

func TestListAllVerifiedExitsZero(t *testing.T) {
	cfg := testConfig(t)
	cfg.Discovery.Order = []string{"good"}
	code, out, _ := runMain(t, cfg, "list")
	assert.Equal(t, 0, code, out)
}

func TestVerifyPair(t *testing.T) {
	cfg := testConfig(t)
	code, out, _ := runMain(t, cfg, "verify", testerWasm)
	assert.Equal(t, 0, code)
	assert.Contains(t, out, `verified: `+testerWasm+`: ABI 1, strategy "tester", sdk "go-sdk/`)

	bad := filepath.Join(t.TempDir(), "bad.wasm")
	require.NoError(t, os.WriteFile(bad, []byte("not wasm"), 0o644))
	code, _, errOut := runMain(t, cfg, "verify", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "NOT VERIFIED")
	assert.Contains(t, errOut, "is not a usable WebAssembly module")
}

// A module serving several strategies is verified as a module, not under
// its file name, and says what it serves.
func TestVerifyModuleServingSeveralStrategies(t *testing.T) {
	code, out, errOut := runMain(t, testConfig(t), "verify", multiWasm)
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `verified: `+multiWasm+`: ABI 1, strategies alpha, beta, sdk "go-sdk/`)
}

func TestWarmFillsTheCache(t *testing.T) {
	cfg := testConfig(t)
	cfg.CacheDir = filepath.Join(t.TempDir(), "cache")
	// twin is served by good's module: compiled once, and said so.
	cfg.Strategies["twin"] = cfg.Strategies["good"]
	cfg.Discovery.Order = []string{"good", "twin"}

	code, out, errOut := runMain(t, cfg, "warm")

	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `warmed good \(.*tester.wasm\) in \d+`, out)
	assert.Regexp(t, `warmed twin \(.*tester.wasm, already compiled above\)`, out)
	assert.Contains(t, out, "warm for 2 strategies")
	entries, err := os.ReadDir(cfg.CacheDir)
	require.NoError(t, err)
	assert.NotEmpty(t, entries)
}

func TestWarmWithoutCacheDirFails(t *testing.T) {
	cfg := testConfig(t)
	cfg.CacheDir = ""
	code, _, errOut := runMain(t, cfg, "warm")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "no compile cache to warm")
}

func TestRunShowsAnswerCallsAndLogs(t *testing.T) {
	cfg := testConfig(t)
	code, out, _ := runMain(t, cfg, "run", "good", "--node", "compute-node-3")

	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "outcome:     found")
	assert.Contains(t, out, "filesystems: default/fs1")
	assert.Regexp(t, `call 1:      greet node-1 -> exit 0 in \d+\.\d ms`, out)
	assert.Contains(t, out, `"stdout_head": "hi node-1\n"`)
}

func TestRunFileAsJSON(t *testing.T) {
	cfg := testConfig(t)
	cfg.Strategies["tester"] = config.Strategy{Timeout: 5 * time.Second,
		Config: map[string]any{"mode": "log", "filesystems": []any{"a/b"}}}
	code, out, _ := runMain(t, cfg, "run", testerWasm, "--node", "n1", "--action", "off", "--json")

	require.Equal(t, 0, code, out)
	var got struct {
		Strategy    string
		Outcome     string
		Filesystems []string
		Logs        []struct{ Level, Msg string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, "tester", got.Strategy)
	assert.Equal(t, "found", got.Outcome)
	assert.Equal(t, []string{"a/b"}, got.Filesystems)
	require.NotEmpty(t, got.Logs)
	assert.Equal(t, "info line node=n1", got.Logs[1].Msg)
}

func TestRunFailureExitsOne(t *testing.T) {
	cfg := testConfig(t)
	code, out, _ := runMain(t, cfg, "run", "missing", "--node", "n1")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "outcome:     load-error")
}

func TestUsageErrors(t *testing.T) {
	cfg := testConfig(t)
	for _, args := range [][]string{
		{}, {"plugins"}, {"frobnicate"}, {"verify"}, {"list", "extra"},
		{"run", "good"}, {"run", "--node", "n"}, {"run", "good", "--node", "bad name;rm"},
	} {
		code, _, errOut := runMain(t, cfg, args...)
		assert.Equal(t, 2, code, "%q", args)
		assert.NotEmpty(t, errOut, "%q", args)
	}
}

func regexpQuote(s string) string {
	r := strings.NewReplacer(".", `\.`, "(", `\(`, ")", `\)`, "+", `\+`)
	return r.Replace(s)
}

// A Go module built without -buildmode=c-shared exports _start and no
// _initialize: verify says how to build it instead of a trap message.
func TestVerifyNamesAMissingCSharedBuildMode(t *testing.T) {
	code, _, errOut := runMain(t, testConfig(t), "verify", commandWasm)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "exports _start, not _initialize")
	assert.Contains(t, errOut, "-buildmode=c-shared")
	assert.NotContains(t, errOut, "unreachable")
}

// needyConfig configures needy with its grants; tests take some away.
func needyConfig(t *testing.T) *config.Config {
	cfg := testConfig(t)
	cfg.Commands["cat"] = config.Command{Path: "/bin/cat", Timeout: 5 * time.Second}
	cfg.Strategies["needy"] = config.Strategy{File: needyWasm, Timeout: 5 * time.Second, Allow: []string{"greet", "cat"}}
	cfg.Discovery.Order = []string{"needy"}
	return cfg
}

// A strategy's declared commands are checked against its grants by verify,
// list and the monitor's Verify, before any fence is denied them.
func TestMissingGrantsAreReportedBeforeAFence(t *testing.T) {
	cfg := needyConfig(t)
	code, out, errOut := runMain(t, cfg, "verify", needyWasm)
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "; needs greet, inventory|cat")
	code, out, _ = runMain(t, cfg, "list")
	assert.Equal(t, 0, code, out)
	require.NoError(t, host.Verify(context.Background(), cfg))

	cfg.Strategies["needy"] = config.Strategy{File: needyWasm, Timeout: 5 * time.Second, Allow: []string{"cat"}}
	const want = "strategy needy needs command greet, but strategies.needy.allow does not grant it (allow: [cat])"
	code, _, errOut = runMain(t, cfg, "verify", needyWasm)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, want)
	code, out, _ = runMain(t, cfg, "list")
	assert.Equal(t, 1, code)
	assert.Regexp(t, `(?m)^1\s+needy\s+1\s+NOT VERIFIED`, out)
	assert.Contains(t, out, want)
	err := host.Verify(context.Background(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), want)
	var mg *host.MissingGrantError
	assert.ErrorAs(t, err, &mg)

	// Granted but not defined: the other half of a grant.
	cfg = needyConfig(t)
	delete(cfg.Commands, "cat")
	code, _, errOut = runMain(t, cfg, "verify", needyWasm)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "strategy needy needs one of the commands inventory, cat, but commands.cat.path is not configured")
}
