package agent

// After a record is durable: the metrics textfile is updated (inline, a
// small file under the record lock) and, when reporters are configured, the
// record is dropped into the spool and a detached process delivers it
// (docs/REPORTING.md). Nothing here can fail or delay the fence: every
// error goes to the operational log only, and the audit trail is never
// written again.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"syscall"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/metrics"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/nodename"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/report"
)

// DeliverSubcommand is the hidden argv of the detached delivery process.
const DeliverSubcommand = "__deliver-reports"

// deliveryNice is the delivery process's nice value.
const deliveryNice = 10

// ReporterFactory builds the reporters of one delivery run (main wires
// host.NewReporters) and returns a function that releases them.
type ReporterFactory func(cfg *config.Config, logger *slog.Logger) (report.Deliverer, func(context.Context) error)

// deliverJob is what the agent hands the delivery process: the effective
// configuration, so stdin options such as log_dir still apply.
type deliverJob struct {
	Config config.Config `json:"config"`
}

// recordKind says which metrics a record adds.
type recordKind int

const (
	recordFence      recordKind = iota // the one record of an inline fence
	recordPending                      // the first record of a deferred fence
	recordCompletion                   // the second record of a deferred fence
)

// afterRecord runs once ev is written (durable unless written is false:
// then it went to stderr and syslog). It updates the metrics and spools ev
// for the reporters; d, when set, is the delivery process started for it
// (nil: the deferred process drains once its second record is in).
func (a *Agent) afterRecord(ctx context.Context, cfg *config.Config, logger *slog.Logger, ev *record.Event, kind recordKind, written bool, d *delivery) {
	if cfg.Metrics.TextfileDir != "" {
		a.addMetrics(cfg, logger, ev, kind, written)
	}
	if !cfg.Reporting.Enabled() {
		if d != nil {
			d.w.Close()
		}
		return
	}
	js, err := json.Marshal(ev)
	if err == nil {
		err = report.Spool{Dir: cfg.Reporting.SpoolDir}.Enqueue(js, ev.EventID, kind == recordCompletion, a.Now())
	}
	if err != nil {
		logger.Error("record not queued for the reporters", "error", err)
	}
	if d == nil {
		return // the deferred process delivers, or the caller does
	}
	// Even when this record was not queued, the delivery drains the rest.
	if err := d.hand(cfg); err != nil {
		logger.Error("could not start the delivery; a later run delivers the record", "error", err)
	}
}

// startDelivery starts the detached process that drains the spool.
func (a *Agent) startDelivery(cfg *config.Config) error {
	d, err := a.spawnDelivery()
	if err != nil {
		return err
	}
	return d.hand(cfg)
}

// delivery is a started delivery process waiting for its job.
type delivery struct{ w io.WriteCloser }

// spawnDelivery starts the delivery process; it waits for its job (hand).
// The fence starts it before discovery, so the process start is paid while
// discovery runs, not after the record, while fenced waits.
func (a *Agent) spawnDelivery() (*delivery, error) {
	spawn := a.SpawnDelivery
	if spawn == nil {
		spawn = func(environ []string) (io.WriteCloser, error) { return spawnSelf(DeliverSubcommand, environ) }
	}
	w, err := spawn(a.Environ)
	if err != nil {
		return nil, err
	}
	return &delivery{w: w}, nil
}

// hand gives the process its job (the effective configuration) and lets
// it go. A process never handed a job sees end of file and exits.
func (d *delivery) hand(cfg *config.Config) error {
	defer d.w.Close()
	job, err := json.Marshal(deliverJob{Config: *cfg})
	if err != nil {
		return err
	}
	if _, err := d.w.Write(job); err != nil {
		return fmt.Errorf("handing the job to the delivery process: %w", err)
	}
	return nil
}

func (a *Agent) addMetrics(cfg *config.Config, logger *slog.Logger, ev *record.Event, kind recordKind, written bool) {
	s := metrics.NewSample()
	if kind != recordCompletion {
		outcome := "recorded"
		if !written {
			outcome = "fallback"
		}
		s.Inc(metrics.FenceEvents, 1, "action", ev.Action, "outcome", outcome)
		// Only plausible node names become label values: an arbitrary
		// string from stdin must not grow the file without bound.
		if nodename.Validate(ev.TargetNode) == nil {
			s.Set(metrics.LastFence, float64(a.Now().UnixMilli())/1000, "target", ev.TargetNode)
		}
		if !a.started.IsZero() {
			s.Observe(metrics.FenceWait, time.Since(a.started))
		}
		if sf := ev.StorageFence; sf != nil {
			s.Inc(metrics.StorageFences, 1, "action", ev.Action, "outcome", string(sf.Outcome))
			if sf.RequestFile != "" {
				s.Observe(metrics.StorageFenceWait, time.Duration(sf.WaitMS*float64(time.Millisecond)))
			}
		}
	}
	if kind != recordPending && ev.Discovery.Enabled {
		for _, at := range ev.Discovery.Attempts {
			s.Inc(metrics.DiscoveryAttempts, 1, "strategy", at.Strategy, "outcome", string(at.Outcome))
		}
		s.Observe(metrics.DiscoveryDuration, time.Duration(ev.Discovery.DurationMS*float64(time.Millisecond)))
	}
	if err := metrics.Add(cfg.Metrics.TextfileDir, filepath.Join(cfg.LogDir, record.DetailedFile), s); err != nil {
		logger.Error("metrics textfile not updated", "error", err)
	}
}

// deliver drains the spool in this process: the delivery process, or the
// deferred one after its second record.
func (a *Agent) deliver(ctx context.Context, cfg *config.Config, logger *slog.Logger) {
	if !cfg.Reporting.Enabled() {
		return
	}
	var d report.Deliverer = missingReporters{}
	closeFn := func(context.Context) error { return nil }
	if a.NewReporters != nil {
		d, closeFn = a.NewReporters(cfg, logger)
	}
	defer func() {
		if err := closeFn(context.WithoutCancel(ctx)); err != nil {
			logger.Debug("closing the reporters", "error", err)
		}
	}()
	sample := metrics.NewSample()
	r := cfg.Reporting
	res, err := report.Spool{Dir: r.SpoolDir}.Drain(ctx, d, report.Options{
		Order: r.Order, MaxEntries: r.MaxSpool, BackoffMin: r.BackoffMin, BackoffMax: r.BackoffMax,
		Now: a.Now, Logger: logger,
		OnOutcome: func(reporter, outcome string) {
			sample.Inc(metrics.Reports, 1, "reporter", reporter, "outcome", outcome)
		},
	})
	if err != nil {
		logger.Error("reports not delivered", "error", err)
	}
	logger.Debug("delivery done", "delivered", res.Delivered, "failed", res.Failed, "dropped", res.Dropped)
	if cfg.Metrics.TextfileDir != "" && len(sample.Counters) > 0 {
		if err := metrics.Add(cfg.Metrics.TextfileDir, filepath.Join(cfg.LogDir, record.DetailedFile), sample); err != nil {
			logger.Error("metrics textfile not updated", "error", err)
		}
	}
}

// finishDelivery is the detached delivery process.
func (a *Agent) finishDelivery(ctx context.Context) int {
	var job deliverJob
	empty, err := readJob(a.Stdin, &job)
	if empty {
		return ExitOK // started ahead of a record that never came (the agent was killed): nothing to do
	}
	if err == nil && (job.Config.LogDir == "" || job.Config.Reporting.SpoolDir == "") {
		err = errors.New("job without a log or spool directory")
	}
	if err != nil {
		a.errorf("%s: %v", DeliverSubcommand, err)
		return ExitGenericError
	}
	// Delivery is never urgent; the rest of the fence (the real device,
	// the `on` of a reboot) is: yield the CPUs to it.
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, 0, deliveryNice)
	cfg := job.Config
	oplog, logErr := record.OpenOpLog(cfg.LogDir, cfg.Verbose, a.Stderr)
	defer oplog.Close()
	logger := oplog.Logger.With("delivery", true)
	if logErr != nil {
		logger.Error("operational log not writable", "error", logErr)
	}
	a.deliver(ctx, &cfg, logger)
	return ExitOK
}

// BacklogCheck is the monitor check of reporting: it fails when a
// reporter's oldest undelivered record is older than
// reporting.backlog_alert, and starts a delivery when records wait, so
// retries happen even when no fence comes (monitor runs every minute or so).
func (a *Agent) BacklogCheck() MonitorCheck {
	return MonitorCheck{Name: "report backlog", Run: func(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
		r := cfg.Reporting
		if !r.Enabled() {
			return nil
		}
		spool := report.Spool{Dir: r.SpoolDir}
		if bs, err := spool.Backlogs(r.Order); err == nil {
			for _, b := range bs {
				if b.Entries > 0 && !a.Now().Before(b.NextTry) {
					if err := a.startDelivery(cfg); err != nil && logger != nil {
						logger.Warn("could not start the delivery process", "error", err)
					}
					break
				}
			}
		}
		return spool.CheckBacklog(r.Order, r.BacklogAlert, a.Now())
	}}
}

// missingReporters is the Deliverer of a build without the wasm runtime.
type missingReporters struct{}

func (missingReporters) Report(context.Context, string, []byte) error {
	return errors.New("no reporter runtime in this build")
}
