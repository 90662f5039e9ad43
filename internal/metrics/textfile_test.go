package metrics

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parse reads the textfile with Prometheus's own parser, as node_exporter does.
func parse(t *testing.T, dir string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, FileName))
	require.NoError(t, err)
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(f)
	require.NoError(t, err)
	return fams
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestTextfileParsesAndCountersSurviveRuns(t *testing.T) {
	dir := t.TempDir()
	lockPath := filepath.Join(t.TempDir(), "fence-events-detailed.jsonl")
	require.NoError(t, os.WriteFile(lockPath, nil, 0o640))
	for run := range 3 {
		s := NewSample()
		s.Inc(FenceEvents, 1, "action", "off", "outcome", "recorded")
		s.Set(LastFence, float64(1764052200+run), "target", "compute-node-3")
		s.Inc(DiscoveryAttempts, 1, "strategy", "kubectl-nnf", "outcome", "found")
		s.Observe(DiscoveryDuration, 200*time.Millisecond)
		s.Observe(FenceWait, 250*time.Millisecond)
		s.Inc(Reports, 1, "reporter", "k8s-event", "outcome", "delivered")
		require.NoError(t, Add(dir, lockPath, s))
	}
	fams := parse(t, dir)
	fe := fams[FenceEvents]
	require.NotNil(t, fe)
	assert.Equal(t, dto.MetricType_COUNTER, fe.GetType())
	require.Len(t, fe.Metric, 1)
	assert.Equal(t, "off", label(fe.Metric[0], "action"))
	assert.Equal(t, "recorded", label(fe.Metric[0], "outcome"))
	assert.Equal(t, 3.0, fe.Metric[0].GetCounter().GetValue())

	lf := fams[LastFence]
	assert.Equal(t, dto.MetricType_GAUGE, lf.GetType())
	assert.Equal(t, 1764052202.0, lf.Metric[0].GetGauge().GetValue(), "a gauge keeps the last value")

	dd := fams[DiscoveryDuration]
	assert.Equal(t, dto.MetricType_SUMMARY, dd.GetType())
	assert.Equal(t, uint64(3), dd.Metric[0].GetSummary().GetSampleCount())
	assert.InDelta(t, 0.6, dd.Metric[0].GetSummary().GetSampleSum(), 1e-9)
	assert.Equal(t, 3.0, fams[Reports].Metric[0].GetCounter().GetValue())
	assert.Equal(t, 3.0, fams[DiscoveryAttempts].Metric[0].GetCounter().GetValue())
}

// A hostile target name cannot break the file or forge a series.
func TestLabelValuesAreEscaped(t *testing.T) {
	dir := t.TempDir()
	s := NewSample()
	s.Set(LastFence, 1, "target", "evil\"} 1\nfence_gfs2_recorder_fence_events_total 99\n\xff")
	require.NoError(t, Add(dir, filepath.Join(dir, "missing"), s))
	require.NoError(t, Add(dir, filepath.Join(dir, "missing"), NewSample()), "and reads it back")
	fams := parse(t, dir)
	assert.Empty(t, fams[FenceEvents].GetMetric())
	require.Len(t, fams[LastFence].Metric, 1)
	assert.True(t, strings.HasPrefix(label(fams[LastFence].Metric[0], "target"), "evil\"} 1\nfence_"))
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	dir := t.TempDir()
	lockPath := filepath.Join(t.TempDir(), "fence-events-detailed.jsonl")
	require.NoError(t, os.WriteFile(lockPath, nil, 0o640))
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := NewSample()
			s.Inc(FenceEvents, 1, "action", "reboot", "outcome", "recorded")
			assert.NoError(t, Add(dir, lockPath, s))
		}()
	}
	wg.Wait()
	assert.Equal(t, 64.0, parse(t, dir)[FenceEvents].Metric[0].GetCounter().GetValue())
}
