package hosttest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/host"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/pcmk/pcmktest"
)

// BenchmarkSources measures one run of each way to read Pacemaker's state
// (CIB_file on the node-lost scenario, so no cluster is involved; against a
// live cluster each tool also pays its IPC round trips). It backs the
// choice of crm_mon + cibadmin over pcs in the strategies' READMEs.
//
//	go test -run=^$ -bench=Sources ./plugins/internal/hosttest/
func BenchmarkSources(b *testing.B) {
	cib, _ := filepath.Abs(filepath.Join(pcmktest.LabDir, "node-lost", "cib.xml"))
	for _, c := range []struct {
		name string
		argv []string
	}{
		{"crm_mon-nodes-resources", []string{"/usr/sbin/crm_mon", "--one-shot", "--inactive", "--output-as=xml", "--include=none,nodes,resources"}},
		{"crm_mon-full-xml", []string{"/usr/sbin/crm_mon", "--one-shot", "--inactive", "--output-as=xml"}},
		{"cibadmin-scope-resources", []string{"/usr/sbin/cibadmin", "--query", "--scope=resources"}},
		{"cibadmin-scope-configuration", []string{"/usr/sbin/cibadmin", "--query", "--scope=configuration"}},
		{"cibadmin-whole", []string{"/usr/sbin/cibadmin", "--query"}},
		{"pcs-status-xml", []string{"/usr/sbin/pcs", "-f", cib, "status", "xml"}},
		{"pcs-cluster-cib", []string{"/usr/sbin/pcs", "-f", cib, "cluster", "cib"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			if _, err := os.Stat(c.argv[0]); err != nil {
				b.Skip(c.argv[0] + " not installed")
			}
			var n int
			for b.Loop() {
				cmd := exec.Command(c.argv[0], c.argv[1:]...)
				cmd.Env = append(os.Environ(), "CIB_file="+cib)
				out, err := cmd.Output()
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "out-bytes")
		})
	}
}

// BenchmarkStrategy measures one whole strategy attempt through the host
// (guest call, the commands it runs, parsing in wasm) on the node-lost
// scenario for compute-node-3, the fence-time case. The module is loaded
// once, as in the agent (one fence = one load, then one call).
//
//	go test -run=^$ -bench=Strategy ./plugins/internal/hosttest/
func BenchmarkStrategy(b *testing.B) {
	cib := filepath.Join(pcmktest.LabDir, "node-lost", "cib.xml")
	for _, c := range []struct {
		name     string
		strategy string
		real     bool
	}{
		{"pcs-status/captured", config.StrategyPcsStatus, false},
		{"pcs-status/real-tools", config.StrategyPcsStatus, true},
		{"pcs-config/captured", config.StrategyPcsConfig, false},
		{"pcs-config/real-tools", config.StrategyPcsConfig, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			var cmds map[string]config.Command
			if c.real {
				if _, err := os.Stat("/usr/sbin/crm_mon"); err != nil {
					b.Skip("pacemaker-cli-utils not installed")
				}
				cmds = realTools(b, cib)
			} else {
				cmds = capturedOutputs(filepath.Join(pcmktest.LabDir, "node-lost"), "cibadmin")
			}
			cfg := chainConfig(b, cmds)
			src := host.NewSource(cfg, nil)
			defer src.Close(context.Background())
			st, err := src.Strategy(context.Background(), c.strategy)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				a := st.Discover(context.Background(), discovery.Target{Node: "compute-node-3", Action: "reboot"})
				if a.Outcome != discovery.OutcomeFound {
					b.Fatalf("%s: %s", a.Outcome, a.Error)
				}
			}
		})
	}
}
