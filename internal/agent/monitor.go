package agent

import (
	"context"
	"log/slog"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
)

// monitor answers Pacemaker's periodic health check. It fails (so the
// device shows FAILED in crm_mon) when a fence could not be recorded
// properly: bad configuration, a log directory that cannot take a record,
// or a failing check added by main (strategies, pairing safety).
func (a *Agent) monitor(ctx context.Context, run runConfig) int {
	var logger *slog.Logger
	failed := false
	fail := func(check string, err error) {
		failed = true
		a.errorf("monitor: %s: %v", check, err)
		if logger != nil {
			logger.Error("monitor check failed", "check", check, "error", err)
		}
	}
	if run.err != nil {
		fail("configuration", run.err)
	}
	if err := record.CheckWritable(run.cfg.LogDir); err != nil {
		fail("log directory", err)
	} else {
		oplog, err := record.OpenOpLog(run.cfg.LogDir, run.cfg.Verbose, a.Stderr)
		if err == nil {
			defer oplog.Close()
			logger = oplog.Logger
			if run.err != nil {
				logger.Error("monitor check failed", "check", "configuration", "error", run.err)
			}
		}
	}
	if run.cfg.StorageFence.Enabled {
		if err := storageMonitor(run.cfg.StorageFence, a.Now()); err != nil {
			fail("storage fence", err)
		}
	}
	if run.err == nil {
		for _, c := range a.MonitorChecks {
			if err := c.Run(ctx, &run.cfg, logger); err != nil {
				fail(c.Name, err)
			}
		}
	}
	if failed {
		return ExitGenericError
	}
	if logger != nil {
		// Every 10-60 s from Pacemaker: only worth a line when debugging.
		logger.Debug("monitor ok", "checks", 2+len(a.MonitorChecks))
	}
	return ExitOK
}
