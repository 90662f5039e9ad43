package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReportingAndMetricsKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`reporting:
  order: [k8s-event, webhook]
  backoff_min: 1s
  reporters:
    webhook:
      file: /etc/fence_gfs2_recorder/plugins.d/webhook.wasm
      allow: [kubectl]
      config: {url: "https://example.org/hook"}
metrics:
  textfile_dir: /var/lib/prometheus/node-exporter
`), 0o600))
	l, err := Load(LoadOptions{File: file, Environ: []string{
		"FENCE_GFS2_RECORDER_REPORTING__REPORTERS__K8S_EVENT__TIMEOUT=3s",
		"FENCE_GFS2_RECORDER_REPORTING__MAX_SPOOL=10",
	}})
	require.NoError(t, err)
	r := l.Config.Reporting
	assert.Equal(t, []string{"k8s-event", "webhook"}, r.Order)
	assert.Equal(t, time.Second, r.BackoffMin)
	assert.Equal(t, DefaultBackoffMax, r.BackoffMax)
	assert.Equal(t, 10, r.MaxSpool)
	assert.Equal(t, 3*time.Second, r.Reporters["k8s-event"].Timeout, "the env layer finds the built-in reporter by name")
	assert.Equal(t, []string{"kubectl"}, r.Reporters["k8s-event"].Allow)
	wh := r.Reporters["webhook"]
	assert.Equal(t, DefaultReporterTimeout, wh.Timeout, "a new reporter inherits the defaults")
	assert.Equal(t, "https://example.org/hook", wh.Config["url"])
	assert.Equal(t, "/var/lib/prometheus/node-exporter", l.Config.Metrics.TextfileDir)
}

func TestReportingValidation(t *testing.T) {
	for yaml, want := range map[string]string{
		"reporting: {order: [nope]}":                            `reporting.order: unknown reporter "nope"`,
		"reporting: {order: [k8s-event, k8s-event]}":            `"k8s-event" is listed twice`,
		"reporting: {spool_dir: relative}":                      `reporting.spool_dir: "relative" is not an absolute path`,
		"reporting: {backoff_min: 1m, backoff_max: 1s}":         "want 0 < min <= max",
		"reporting: {reporters: {k8s-event: {allow: [ghost]}}}": `reporting.reporters.k8s-event.allow: command "ghost" is not defined`,
		"reporting: {reporters: {x: {colour: red}}}":            "reporting.reporters.x.colour: unknown key",
		"reporting: {colour: red}":                              "reporting.colour: unknown key",
		"metrics: {textfile_dir: rel}":                          `metrics.textfile_dir: "rel" is not an absolute path`,
	} {
		file := filepath.Join(t.TempDir(), "c.yaml")
		require.NoError(t, os.WriteFile(file, []byte(yaml+"\n"), 0o600))
		_, err := Load(LoadOptions{File: file})
		require.Error(t, err, yaml)
		assert.Contains(t, err.Error(), want, yaml)
	}
}
