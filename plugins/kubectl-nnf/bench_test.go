package kubectlnnf

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/host"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/kubetest"
)

// Benchmarks of one discovery of compute-node-3 against the fake API server,
// all with warm caches (kubectl discovery cache, wazero compile cache), so
// they compare what a fence pays on a configured rabbit:
//
//	BenchmarkBareKubectl          the one `kubectl get clientmounts -n compute-node-3 -o json` call
//	BenchmarkNativeRealKubectl    the strategy logic natively around that call
//	BenchmarkWasmFreshSource      a new host.Source per discovery, as in a fence process:
//	                              cache-hit compile + instantiate + discover
//	BenchmarkWasmWarmSource       discover on an already instantiated guest
//
// Run: go test -run '^$' -bench . -benchtime 20x ./plugins/kubectl-nnf

func benchServer(b *testing.B) (*fakekube.Server, string) {
	b.Helper()
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	requireGuest(b)
	s, err := fakekube.Start(fakekube.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s, filepath.Join(b.TempDir(), "kube")
}

func BenchmarkBareKubectl(b *testing.B) {
	s, kubeCache := benchServer(b)
	dir := b.TempDir()
	kc, err := s.WriteKubeconfig(dir)
	if err != nil {
		b.Fatal(err)
	}
	run := func() {
		cmd := exec.Command(kubetest.KubectlPath, append([]string{"--cache-dir", kubeCache}, cmArgs("compute-node-3")...)...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "KUBECONFIG=" + kc, "HOME=" + dir}
		if out, err := cmd.Output(); err != nil || len(out) == 0 {
			b.Fatal(err)
		}
	}
	run() // warm kubectl's discovery cache
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
}

func BenchmarkNativeRealKubectl(b *testing.B) {
	s, kubeCache := benchServer(b)
	ctx := kubetest.NewContext(b, s)
	req := request("compute-node-3", map[string]any{"cache_dir": kubeCache})
	if _, err := Discover(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res, err := Discover(ctx, req); err != nil || len(res.Filesystems) != 2 {
			b.Fatal(err, res.Filesystems)
		}
	}
}

func BenchmarkWasmFreshSource(b *testing.B) {
	s, kubeCache := benchServer(b)
	cfg := hostConfig(b, s, kubeCache, nil)
	once := func() {
		src := host.NewSource(cfg, nil)
		defer src.Close(context.Background())
		if a := runChain(src, "compute-node-3").Attempts[0]; a.Outcome != discovery.OutcomeFound {
			b.Fatal(a.Outcome, a.Error)
		}
	}
	once() // fill the compile cache and kubectl's discovery cache
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		once()
	}
}

func BenchmarkWasmWarmSource(b *testing.B) {
	s, kubeCache := benchServer(b)
	src := host.NewSource(hostConfig(b, s, kubeCache, nil), nil)
	b.Cleanup(func() { _ = src.Close(context.Background()) })
	if a := runChain(src, "compute-node-3").Attempts[0]; a.Outcome != discovery.OutcomeFound {
		b.Fatal(a.Outcome, a.Error)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if a := runChain(src, "compute-node-3").Attempts[0]; a.Outcome != discovery.OutcomeFound {
			b.Fatal(a.Outcome, a.Error)
		}
	}
}
