package e2e

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkStonithReboot times a whole `stonith_admin --reboot` through
// pacemaker-fenced, per level of the target:
//
//	realfence-only          fence_dummy alone: one reboot run
//	realfence+realfence2    two fence_dummy: remapped to off, off, on, on
//	recorder-nodisc+realfence  the recorder with gfs2_discovery=0, then fence_dummy
//	recorder+realfence      the recorder (kubectl-nnf answering), then fence_dummy
//	recorder-deferred+realfence  the same in discovery.mode deferred, then its own fence_dummy
//
// The recorder's cost in a real fence is recorder+realfence minus the
// second: two agent runs (off and on); the nodisc variant splits that into
// process start + record vs discovery. In the deferred variant the timer
// stops after each reboot until both second records are written, so no
// discovery runs into the next reboot. Run: make e2e-bench.
func BenchmarkStonithReboot(b *testing.B) {
	l := setupLab(b)
	const nodiscTarget = "compute-node-10"
	must(b, "pcs", "stonith", "create", "recorder-nodisc", "fence_gfs2_recorder",
		"log_dir="+filepath.Join(l.tmp, "log-nodisc"), "gfs2_discovery=0", "pcmk_host_list="+nodiscTarget, "--disabled")
	must(b, "pcs", "stonith", "update", "realfence",
		"pcmk_host_list="+target+" "+plainTarget+" "+pairTarget+" "+cibTarget+" "+nodiscTarget)
	must(b, "pcs", "stonith", "level", "add", "1", nodiscTarget, "recorder-nodisc", "realfence", "--force")
	must(b, "pcs", "stonith", "enable", "recorder-nodisc")
	must(b, "crm_resource", "--wait", "--timeout=60s")
	if !waitFor(30*time.Second, func() bool { return deviceStarted(b, "recorder-nodisc") }) {
		b.Fatal("recorder-nodisc not Started")
	}
	d := addDeferredDevice(b, l)
	for _, c := range []struct {
		name, node string
		deferred   bool
	}{
		{"realfence-only", plainTarget, false},
		{"realfence+realfence2", pairTarget, false},
		{"recorder-nodisc+realfence", nodiscTarget, false},
		{"recorder+realfence", target, false},
		{"recorder-deferred+realfence", deferredTarget, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			var worst time.Duration
			for i := 0; i < b.N; i++ {
				before := 0
				if c.deferred {
					b.StopTimer()
					before = len(readRecords(b, d.logDir))
					b.StartTimer()
				}
				r := must(b, "stonith_admin", "--reboot", c.node, "--timeout", "60")
				worst = max(worst, r.took)
				if c.deferred {
					b.StopTimer()
					waitRecords(b, d.logDir, before, 4) // off and on: pending, then complete
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
		})
	}
}
