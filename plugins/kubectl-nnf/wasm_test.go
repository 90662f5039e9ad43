package kubectlnnf

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/host"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/kubetest"
)

// guestWasm is the real built-in module (plugins/builtin, which serves this
// strategy), built once per test run (never committed). Empty if the build failed; buildErr says why.
var (
	guestWasm   string
	buildErr    error
	wazeroCache string // one compile cache for the run: compile once, hit after
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kubectl-nnf-wasm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubectl-nnf tests:", err)
		os.Exit(1)
	}
	guestWasm = filepath.Join(dir, "builtin.wasm")
	wazeroCache = filepath.Join(dir, "wazero-cache")
	buildErr = buildGuest(guestWasm)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildGuest builds the built-in module the way `make plugins` does.
func buildGuest(out string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, "../builtin")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the kubectl-nnf guest: %v\n%s", err, b)
	}
	// The host refuses group/world-writable modules; do not depend on umask.
	return os.Chmod(out, 0o644)
}

func requireGuest(t testing.TB) {
	t.Helper()
	require.NoError(t, buildErr)
	if _, err := os.Stat(kubetest.KubectlPath); err != nil {
		t.Skipf("SKIPPED: %s not installed (%v): the wasm-through-host tests run the real kubectl", kubetest.KubectlPath, err)
	}
}

// hostConfig is an agent configuration that runs the built guest with
// kubectl pointed at s through KUBECONFIG (set_env) and a kubectl discovery
// cache in kubeCache (leading args), as a site would configure it.
func hostConfig(t testing.TB, s *fakekube.Server, kubeCache string, strategyCfg map[string]any) *config.Config {
	t.Helper()
	dir := t.TempDir()
	kc, err := s.WriteKubeconfig(dir)
	require.NoError(t, err)
	cfg := config.Defaults()
	cfg.CacheDir = wazeroCache
	cmd := cfg.Commands["kubectl"]
	cmd.Path = kubetest.KubectlPath
	cmd.Args = []string{"--cache-dir", kubeCache}
	cmd.Env = nil // nothing from the test's own environment
	cmd.SetEnv = map[string]string{"KUBECONFIG": kc, "HOME": dir}
	cmd.Timeout = 10 * time.Second
	cfg.Commands["kubectl"] = cmd
	st := cfg.Strategies[Name]
	st.File = guestWasm
	st.Timeout = 15 * time.Second
	if strategyCfg != nil {
		st.Config = strategyCfg
	}
	cfg.Strategies[Name] = st
	return &cfg
}

func newSource(t testing.TB, cfg *config.Config) *host.Source {
	t.Helper()
	src := host.NewSource(cfg, nil)
	t.Cleanup(func() { _ = src.Close(context.Background()) })
	return src
}

func runChain(src *host.Source, node string) discovery.Report {
	return discovery.Run(context.Background(), src, []string{Name},
		discovery.NewTarget(node, "reboot"), discovery.Options{Budget: 30 * time.Second})
}

// attemptDetails is the attempt's details as the record will hold them.
func attemptDetails(t *testing.T, a discovery.Attempt) map[string]any {
	t.Helper()
	b, err := json.Marshal(a.Details)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// assertAttempt checks a wasm attempt against an expected.json entry, the
// same way assertMatches checks a native result.
func assertAttempt(t *testing.T, e expected, node string, a discovery.Attempt, withLockTable bool) {
	t.Helper()
	want := e.Computes[node]
	if len(want) == 0 {
		assert.Equal(t, discovery.OutcomeEmpty, a.Outcome, a.Error)
		assert.Empty(t, a.Filesystems)
	} else {
		assert.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
		assert.Equal(t, want, a.Filesystems)
	}
	d := attemptDetails(t, a)
	wantDetails, ok := e.Details[node]
	if !ok {
		return
	}
	mounts, _ := d["mounts"].([]any)
	require.Len(t, mounts, len(wantDetails), node)
	for i, w := range wantDetails {
		got := mounts[i].(map[string]any)
		for k, v := range w {
			if k == "lockTable" && !withLockTable {
				assert.NotContains(t, got, k)
				continue
			}
			assert.Equal(t, v, got[k], "%s mount %d: %s", node, i, k)
		}
	}
}

func TestWasmThroughHostFixtures(t *testing.T) {
	requireGuest(t)
	e := loadExpected(t, "fixtures/expected.json")
	s := kubetest.Start(t, fakekube.Options{})
	for _, lockTable := range []bool{false, true} {
		cfg := hostConfig(t, s, filepath.Join(t.TempDir(), "kube"), map[string]any{"lock_table": lockTable})
		src := newSource(t, cfg)
		for _, node := range nodes(e.Computes) {
			t.Run(fmt.Sprintf("%s/lock_table=%v", node, lockTable), func(t *testing.T) {
				s.ResetRequests()
				rep := runChain(src, node)
				require.Len(t, rep.Attempts, 1)
				a := rep.Attempts[0]
				assertAttempt(t, e, node, a, lockTable)
				d := attemptDetails(t, a)
				calls := 1
				if lockTable && len(e.Computes[node]) > 0 {
					calls = 2 // one rabbit per compute in this system
				}
				assert.EqualValues(t, calls, d["kubectl_calls"])
				require.Len(t, a.Calls, calls, "host-recorded kubectl processes")
				assert.Equal(t, "kubectl", a.Calls[0].Command)
				assert.Equal(t, cmArgs(node), a.Calls[0].Args)
				assert.Equal(t, 0, a.Calls[0].ExitCode)
				if len(e.Computes[node]) > 0 {
					assert.Equal(t, e.Computes[node], rep.Filesystems)
					assert.Equal(t, Name, rep.Strategy)
				} else {
					assert.Equal(t, []string{discovery.NoneDetected}, rep.Filesystems)
				}
			})
		}
	}
}

func TestWasmThroughHostTricky(t *testing.T) {
	requireGuest(t)
	e := loadExpected(t, "tricky/expected.json")
	s := kubetest.Start(t, trickyOptions(t))
	src := newSource(t, hostConfig(t, s, filepath.Join(t.TempDir(), "kube"), nil))
	all := append(nodes(e.Computes), nodes(e.Errors)...)
	sort.Strings(all)
	for _, node := range all {
		t.Run(node, func(t *testing.T) {
			a := runChain(src, node).Attempts[0]
			if want, ok := e.Errors[node]; ok {
				assert.Equal(t, discovery.OutcomeError, a.Outcome)
				assert.Contains(t, a.Error, want)
			} else {
				assertAttempt(t, e, node, a, false)
			}
			d := attemptDetails(t, a)
			assert.EqualValues(t, e.KubectlCalls[node], d["kubectl_calls"])
			assert.Len(t, a.Calls, e.KubectlCalls[node])
		})
	}
}

// Failures reach the record with an outcome and a sentence an operator can
// act on, and the chain reports none-detected.
func TestWasmThroughHostFailures(t *testing.T) {
	requireGuest(t)
	t.Run("forbidden", func(t *testing.T) {
		s := kubetest.Start(t, fakekube.Options{})
		s.Inject(fakekube.Fault{Resource: "clientmounts", Status: http.StatusForbidden})
		rep := runChain(newSource(t, hostConfig(t, s, t.TempDir(), nil)), "compute-node-3")
		a := rep.Attempts[0]
		assert.Equal(t, discovery.OutcomeError, a.Outcome)
		assert.Contains(t, a.Error, "kubectl failed while listing ClientMounts in namespace compute-node-3 (exit status 1): Error from server (Forbidden)")
		require.Len(t, a.Calls, 1)
		assert.Equal(t, 1, a.Calls[0].ExitCode)
		assert.Contains(t, a.Calls[0].Stderr, "Forbidden")
		assert.Equal(t, []string{discovery.NoneDetected}, rep.Filesystems)
	})
	t.Run("command timeout", func(t *testing.T) {
		s := kubetest.Start(t, fakekube.Options{})
		s.Inject(fakekube.Fault{Hang: true})
		cfg := hostConfig(t, s, t.TempDir(), nil)
		cmd := cfg.Commands["kubectl"]
		cmd.Timeout = 1500 * time.Millisecond
		cfg.Commands["kubectl"] = cmd
		a := runChain(newSource(t, cfg), "compute-node-3").Attempts[0]
		assert.Equal(t, discovery.OutcomeTimeout, a.Outcome, a.Error)
		assert.Equal(t, "kubectl timed out while listing ClientMounts in namespace compute-node-3", a.Error)
		require.Len(t, a.Calls, 1)
		assert.True(t, a.Calls[0].TimedOut)
	})
	t.Run("kubectl not granted", func(t *testing.T) {
		s := kubetest.Start(t, fakekube.Options{})
		cfg := hostConfig(t, s, t.TempDir(), nil)
		st := cfg.Strategies[Name]
		st.Allow = nil
		cfg.Strategies[Name] = st
		a := runChain(newSource(t, cfg), "compute-node-3").Attempts[0]
		assert.Equal(t, discovery.OutcomeDenied, a.Outcome, a.Error)
		assert.Contains(t, a.Error, "kubectl is not granted to this strategy")
	})
	t.Run("kubectl missing", func(t *testing.T) {
		s := kubetest.Start(t, fakekube.Options{})
		cfg := hostConfig(t, s, t.TempDir(), nil)
		cmd := cfg.Commands["kubectl"]
		cmd.Path = "/nonexistent/kubectl"
		cfg.Commands["kubectl"] = cmd
		a := runChain(newSource(t, cfg), "compute-node-3").Attempts[0]
		assert.Equal(t, discovery.OutcomeError, a.Outcome)
		assert.Contains(t, a.Error, "kubectl could not be run while listing ClientMounts in namespace compute-node-3")
	})
}

// TestWasmTiming records, for the report, one discovery of compute-node-3
// (warm wazero compile cache, warm kubectl discovery cache) three ways,
// interleaved so machine load hits them alike: the bare kubectl call the
// strategy wraps, the guest in a fresh host.Source (what a fence process
// pays: cache-hit compile, instantiate, discover), and the guest in a warm
// Source. It asserts nothing about speed: numbers go into the log and the
// benchmarks; timed assertions would be flaky.
func TestWasmTiming(t *testing.T) {
	requireGuest(t)
	if testing.Short() {
		t.Skip("timing run skipped in -short mode")
	}
	s := kubetest.Start(t, fakekube.Options{})
	kubeCache := filepath.Join(t.TempDir(), "kube")
	cfg := hostConfig(t, s, kubeCache, nil)
	warmSrc := newSource(t, cfg)
	rep := runChain(warmSrc, "compute-node-3") // compile + warm both caches
	require.Equal(t, discovery.OutcomeFound, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
	env := cfg.Commands["kubectl"].SetEnv
	const n = 10
	var bare, fresh, warm time.Duration
	for i := 0; i < n; i++ {
		cmd := exec.Command(kubetest.KubectlPath, append([]string{"--cache-dir", kubeCache}, cmArgs("compute-node-3")...)...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "KUBECONFIG=" + env["KUBECONFIG"], "HOME=" + env["HOME"]}
		begin := time.Now()
		out, err := cmd.Output()
		bare += time.Since(begin)
		require.NoError(t, err)
		require.NotEmpty(t, out)

		begin = time.Now()
		src := host.NewSource(cfg, nil)
		rep := runChain(src, "compute-node-3")
		_ = src.Close(context.Background())
		fresh += time.Since(begin)
		require.Equal(t, discovery.OutcomeFound, rep.Attempts[0].Outcome)

		begin = time.Now()
		rep = runChain(warmSrc, "compute-node-3")
		warm += time.Since(begin)
		require.Equal(t, discovery.OutcomeFound, rep.Attempts[0].Outcome)
	}
	info, err := os.Stat(guestWasm)
	require.NoError(t, err)
	t.Logf("kubectl-nnf: guest %d bytes; mean of %d: bare kubectl get %.1f ms; fresh Source %.1f ms (%.2fx); warm Source %.1f ms (%.2fx)",
		info.Size(), n, ms(bare/n), ms(fresh/n), float64(fresh)/float64(bare), ms(warm/n), float64(warm)/float64(bare))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Head start with the real kubectl and the real built-in module, as the
// agent runs it (one Source per fence): each fence after the first starts
// `kubectl get clientmounts -n <its node>` while the module loads, the
// strategy claims it, and the API server sees one request per fence.
func TestWasmHeadStartWithRealKubectl(t *testing.T) {
	requireGuest(t)
	e := loadExpected(t, "fixtures/expected.json")
	s := kubetest.Start(t, fakekube.Options{})
	cfg := hostConfig(t, s, filepath.Join(t.TempDir(), "kube"), map[string]any{})
	cfg.CacheDir = filepath.Join(t.TempDir(), "cache") // plans of its own
	st := cfg.Strategies[Name]
	st.File = "" // the built-in module: only built-ins get a head start
	cfg.Strategies[Name] = st
	cfg.BuiltinDir = filepath.Dir(guestWasm)

	for i, node := range []string{"compute-node-3", "compute-node-4", "compute-node-3"} {
		s.ResetRequests()
		src := host.NewSource(cfg, nil)
		src.HeadStart = true
		rep := runChain(src, node)
		require.NoError(t, src.Close(context.Background()))
		a := rep.Attempts[0]
		assertAttempt(t, e, node, a, false)
		require.Len(t, a.Calls, 1)
		assert.Equal(t, cmArgs(node), a.Calls[0].Args)
		assert.Equal(t, i > 0, a.Calls[0].HeadStart, "fence %d (%s)", i, node)
		assert.Len(t, s.ResourceRequests(), 1, "one kubectl get per fence, none wasted")
	}
}
