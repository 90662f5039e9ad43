package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
)

// Every way a module can break ABI v1 is a load error (or, for a bad
// answer, an error) that says what was expected; the chain goes on.
func TestBrokenModulesAreLoadErrors(t *testing.T) {
	needWAT(t)
	corrupt := filepath.Join(t.TempDir(), "corrupt.wasm")
	require.NoError(t, os.WriteFile(corrupt, []byte("\x00asm\x01\x00\x00\x00garbage that is no section"), 0o644))
	notWasm := filepath.Join(t.TempDir(), "script.wasm")
	require.NoError(t, os.WriteFile(notWasm, []byte("#!/bin/sh\necho hi\n"), 0o644))

	cases := []struct {
		name, file string
		outcome    discovery.Outcome
		want       string
	}{
		{"wrong ABI version", guest("abi_v2"), discovery.OutcomeLoadError, "plugin ABI version 2, host supports 1"},
		{"missing export", guest("missing_discover"), discovery.OutcomeLoadError,
			`missing export "fgr_discover": a strategy must export fgr_discover (i32, i32) -> (i64)`},
		{"wrong signature", guest("wrong_signature"), discovery.OutcomeLoadError,
			"export fgr_discover should be (i32, i32) -> (i64), but is (i32, i32) -> (i32)"},
		{"unknown import", guest("unknown_import"), discovery.OutcomeLoadError,
			"imports fgr.open_file, which this host (ABI 1) does not provide"},
		{"corrupt file", corrupt, discovery.OutcomeLoadError, "is not a usable WebAssembly module"},
		{"not wasm at all", notWasm, discovery.OutcomeLoadError, "is not a usable WebAssembly module"},
		{"missing file", "/nonexistent/x.wasm", discovery.OutcomeLoadError, "module /nonexistent/x.wasm does not exist"},
		{"answer outside memory", guest("bad_response"), discovery.OutcomeError, "outside guest memory"},
		{"Go reactor without the SDK", guest("bare"), discovery.OutcomeLoadError, `missing export "fgr_alloc"`},
		{"memory not exported", guest("no_memory"), discovery.OutcomeLoadError, `missing export "memory"`},
		{"fgr_info with a wrong signature", guest("bad_info"), discovery.OutcomeLoadError,
			"export fgr_info should be () -> (i64), but is () -> (i32)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			addStrategy(cfg, "broken", tc.file, nil)
			addStrategy(cfg, "next", guest("tester"), map[string]any{"filesystems": []any{"x/y"}})

			rep := runChain(t, cfg, "n", nil)

			assert.Equal(t, []discovery.Outcome{tc.outcome, discovery.OutcomeFound}, outcomes(rep))
			assert.Contains(t, rep.Attempts[0].Error, tc.want)
		})
	}
}

func TestResolveOrder(t *testing.T) {
	cfg := testConfig(t)
	require.NoError(t, os.MkdirAll(cfg.BuiltinDir, 0o755))
	require.NoError(t, os.MkdirAll(cfg.PluginDir, 0o755))
	builtin := filepath.Join(cfg.BuiltinDir, BuiltinModule)
	dropIn := filepath.Join(cfg.PluginDir, "kubectl-nnf.wasm")
	site := filepath.Join(cfg.PluginDir, "site-inventory.wasm")
	// Only built-in strategies resolve to the built-in module.
	strayBuiltin := filepath.Join(cfg.BuiltinDir, "site-inventory.wasm")
	for _, p := range []string{builtin, dropIn, site, strayBuiltin} {
		copyFile(t, guest("tester"), p, 0o644)
	}

	loc, err := Resolve(cfg, "kubectl-nnf")
	require.NoError(t, err)
	assert.Equal(t, Location{Name: "kubectl-nnf", Path: builtin, Kind: KindBuiltin}, loc, "built-in wins over a drop-in")
	loc, err = Resolve(cfg, "pcs-config")
	require.NoError(t, err)
	assert.Equal(t, Location{Name: "pcs-config", Path: builtin, Kind: KindBuiltin}, loc, "one module serves every built-in")

	loc, err = Resolve(cfg, "site-inventory")
	require.NoError(t, err)
	assert.Equal(t, Location{Name: "site-inventory", Path: site, Kind: KindPluginDir}, loc)

	// Without the built-in module a built-in name falls back to a drop-in.
	require.NoError(t, os.Remove(builtin))
	loc, err = Resolve(cfg, "kubectl-nnf")
	require.NoError(t, err)
	assert.Equal(t, Location{Name: "kubectl-nnf", Path: dropIn, Kind: KindPluginDir}, loc)

	addStrategy(cfg, "kubectl-nnf", "/opt/site/kubectl-nnf.wasm", nil)
	loc, err = Resolve(cfg, "kubectl-nnf")
	require.NoError(t, err)
	assert.Equal(t, Location{Name: "kubectl-nnf", Path: "/opt/site/kubectl-nnf.wasm", Kind: KindFile}, loc, "an explicit file wins")

	_, err = Resolve(cfg, "nothing-here")
	require.ErrorIs(t, err, discovery.ErrUnknownStrategy)
	assert.Contains(t, err.Error(), filepath.Join(cfg.PluginDir, "nothing-here.wasm"))

	for _, bad := range []string{"../etc/x", "a/b", "", ".hidden", "-x", "sp ace"} {
		_, err := Resolve(cfg, bad)
		assert.ErrorContains(t, err, "invalid strategy name", bad)
	}
}

func TestBuiltinDirDefaultsNextToTheExecutable(t *testing.T) {
	cfg := testConfig(t)
	cfg.BuiltinDir = ""
	exe, err := os.Executable()
	require.NoError(t, err)
	exe, _ = filepath.EvalSymlinks(exe)
	// The test binary has no ../lib/fence_gfs2_recorder/plugins beside it.
	assert.Equal(t, filepath.Join(filepath.Dir(exe), "plugins"), BuiltinDir(cfg))
}

func TestBuiltinSourceIsNamedBuiltin(t *testing.T) {
	cfg := testConfig(t)
	require.NoError(t, os.MkdirAll(cfg.BuiltinDir, 0o755))
	copyFile(t, guest("tester"), filepath.Join(cfg.BuiltinDir, BuiltinModule), 0o644)
	cfg.Discovery.Order = []string{"pcs-status"}
	cfg.Strategies["pcs-status"] = cfg.Strategies["x"] // zero settings: defaults apply
	delete(cfg.Strategies, "pcs-status")

	rep := runChain(t, cfg, "n", nil)

	assert.Equal(t, discovery.OutcomeEmpty, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
	assert.Equal(t, "builtin", rep.Attempts[0].Source)
}

func TestClosedSourceRefusesToLoad(t *testing.T) {
	cfg := testConfig(t)
	addStrategy(cfg, "t", guest("tester"), nil)
	src := NewSource(cfg, nil)
	require.NoError(t, src.Close(context.Background()))
	_, err := src.Strategy(context.Background(), "t")
	assert.ErrorContains(t, err, "host is closed")
}

// A hand-written guest checks the take contract step by step: a length
// probe with buf_limit 0 copies nothing, a fitting buffer gets the frame,
// and the frame is then gone.
func TestTakeFollowsTheBufLimitContract(t *testing.T) {
	needWAT(t)
	cfg := testConfig(t)
	cfg.Commands["hello"] = shCommand("echo hi")
	addStrategy(cfg, "taker", guest("take_protocol"), nil, "hello")

	rep := runChain(t, cfg, "n", nil)

	a := rep.Attempts[0]
	require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
	assert.Equal(t, []string{"take/ok"}, a.Filesystems)
	require.Len(t, a.Calls, 1)
	assert.Equal(t, "hello", a.Calls[0].Command)
	assert.Equal(t, []discovery.LogLine{{Level: "INFO", Msg: "taking"}}, a.Logs)
}
