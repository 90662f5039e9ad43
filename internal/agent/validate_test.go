package agent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
)

// validate-all runs only the checks marked Validate, reports every failure,
// passes their warnings to stderr and still creates nothing.
func TestValidateAllRunsValidateChecks(t *testing.T) {
	h := newHarness(t, "")
	var ran []string
	h.agent.MonitorChecks = []MonitorCheck{
		{Name: "monitor only", Run: func(context.Context, *config.Config, *slog.Logger) error {
			ran = append(ran, "monitor only")
			return errors.New("not for validate-all")
		}},
		{Name: "pairing", Validate: true, Run: func(_ context.Context, c *config.Config, l *slog.Logger) error {
			ran = append(ran, "pairing")
			require.NotNil(t, l)
			l.Warn("cannot read the CIB")
			l.Debug("not shown")
			assert.Equal(t, h.logDir, c.LogDir)
			return errors.New("recorder is alone in level 1")
		}},
	}
	assert.Equal(t, 1, h.stdin("action=validate-all\n"))
	assert.Equal(t, []string{"pairing"}, ran)
	assert.Contains(t, h.stderr.String(), "validate-all: pairing: recorder is alone in level 1")
	assert.Contains(t, h.stderr.String(), "cannot read the CIB")
	assert.NotContains(t, h.stderr.String(), "not shown")
	_, err := os.Stat(h.logDir)
	assert.True(t, os.IsNotExist(err), "validate-all creates nothing")

	h.agent.MonitorChecks[1].Run = func(context.Context, *config.Config, *slog.Logger) error { return nil }
	h.stderr.Reset()
	assert.Equal(t, 0, h.stdin("action=validate-all\n"), h.stderr.String())
}
