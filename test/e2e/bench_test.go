package e2e

import (
	"testing"
	"time"
)

// BenchmarkStonithReboot times a whole `stonith_admin --reboot` through
// pacemaker-fenced: compute-node-3's level holds the recorder and
// fence_dummy, compute-node-6's level fence_dummy alone. The difference is
// what the recorder adds to a real fence (two agent runs: off and on, each
// with discovery through kubectl). Run: make e2e-bench.
func BenchmarkStonithReboot(b *testing.B) {
	l := setupLab(b)
	for _, c := range []struct{ name, node string }{
		{"realfence-only", plainTarget},
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
