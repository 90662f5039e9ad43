package e2e

import (
	"testing"
	"time"
)

// BenchmarkStonithReboot times a whole `stonith_admin --reboot` through
// pacemaker-fenced: compute-node-3's level holds the recorder and
// fence_dummy, compute-node-6's fence_dummy alone (one reboot run) and
// compute-node-7's two fence_dummy devices (a two-device level: fenced
// remaps the reboot to off, off, on, on). The recorder's own cost is the
// difference between the last two: two agent runs (off and on), each with
// discovery through kubectl. Run: make e2e-bench.
func BenchmarkStonithReboot(b *testing.B) {
	l := setupLab(b)
	for _, c := range []struct{ name, node string }{
		{"realfence-only", plainTarget},
		{"realfence+realfence2", pairTarget},
		{"recorder+realfence", target},
	} {
		b.Run(c.name, func(b *testing.B) {
			var worst time.Duration
			for i := 0; i < b.N; i++ {
				r := must(b, "stonith_admin", "--reboot", c.node, "--timeout", "60")
				worst = max(worst, r.took)
			}
			b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
		})
	}
	_ = l
}
