package agent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/options"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/version"
)

// fence records an on, off or reboot and returns ExitOK whatever happens:
// a failed discovery, a bad configuration or an unwritable log directory
// is recorded and logged, never turned into a failed fence.
func (a *Agent) fence(ctx context.Context, run runConfig, p *options.Parsed, action string) int {
	oplog, logger := a.openFenceLog(ctx, run, p, action)
	defer oplog.Close()

	target := discovery.NewTarget(p.Target(), action)
	ev := a.newEvent(run, p, target)
	if !target.Discoverable() {
		logger.Warn("target node name is not plausible; recording it escaped, discovery not run",
			"target", ev.TargetNode, "problem", ev.TargetNodeProblem)
	}
	// slog quotes and escapes values, so the raw name cannot split a line.
	logger = logger.With("event_id", ev.EventID, "target", ev.TargetNode)

	cfg := &run.cfg
	wait := cfg.Discovery.WaitBound()
	switch {
	case !cfg.Discovery.Enabled || !target.Discoverable() || wait >= cfg.Discovery.Budget:
		// Inline: nothing to run, or the fence waits for the whole chain.
		d := a.deliveryAhead(cfg, logger)
		ev.SetDiscovery(a.discover(ctx, cfg, logger, target, nil))
		written := a.write(cfg, logger, ev)
		a.afterRecord(ctx, cfg, logger, ev, recordFence, written, d)
	case wait == 0:
		a.recordDeferred(ctx, cfg, logger, ev)
	default:
		a.recordWithin(ctx, cfg, logger, ev, target, wait)
	}
	return ExitOK
}

// newEvent is the record of a fence of target, with what the input and
// the configuration had wrong with them.
func (a *Agent) newEvent(run runConfig, p *options.Parsed, target discovery.Target) *record.Event {
	ev := record.NewEvent(a.Now(), target.Action)
	ev.AgentVersion = version.Version
	ev.RecorderNode = run.cfg.RecorderNode
	ev.SetTarget(target)
	ev.InputWarnings = p.Warnings
	ev.ConfigWarnings = run.warnings
	if run.err != nil {
		ev.ConfigError = run.err.Error()
	}
	return ev
}

// recordWithin runs the chain and records when it ends or when wait has
// passed, whichever is first. The bound is kept by this goroutine alone,
// which only waits on a timer and the chain: no strategy, guest, command
// or file open it started has to return for the fence to be recorded and
// to exit. At the bound the record carries the best answer so far
// (discovery.state "partial", the strategies still running as pending) and
// a detached process runs those and appends the completion record.
func (a *Agent) recordWithin(ctx context.Context, cfg *config.Config, logger *slog.Logger, ev *record.Event, t discovery.Target, wait time.Duration) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	d := a.deliveryAhead(cfg, logger)
	bg := a.startChain(ctx, cfg, logger, t)
	rep, done := bg.reportBy(timer.C)
	if !done {
		logger.Info("fence wait ended before discovery; recording the best answer so far",
			"fence_wait", wait, "pending", rep.Pending, "strategy", rep.Strategy)
	}
	a.recordAndFinish(ctx, cfg, logger, ev, bg, rep, done, d)
}

// recordAndFinish writes ev with rep. When the chain had not finished
// (rep is its snapshot) a detached process runs the pending strategies and
// appends the completion record, and what still runs here is stopped.
func (a *Agent) recordAndFinish(ctx context.Context, cfg *config.Config, logger *slog.Logger, ev *record.Event, bg *backgroundChain, rep discovery.Report, done bool, d *delivery) {
	logAttempts(ctx, logger, rep)
	ev.SetDiscovery(rep)
	written := a.write(cfg, logger, ev)
	if done {
		a.afterRecord(ctx, cfg, logger, ev, recordFence, written, d)
		return
	}
	// The partial record goes out now; the completion process delivers
	// its own record.
	a.afterRecord(ctx, cfg, logger, ev, recordPending, written, d)
	if err := a.detach(cfg, ev); err != nil {
		// Without a detached process the completion is written here: the
		// fence waits, but the audit trail gets both records.
		logger.Error("could not start the completion process; finishing discovery inline", "error", err)
		a.complete(ctx, cfg, logger, ev, bg.wait())
		a.deliverLater(cfg, logger)
		return
	}
	logger.Info("discovery completion started in a detached process", "pending", rep.Pending)
	bg.stop()
}

// write appends ev durably and says whether it reached the log directory
// (false: it went to stderr and syslog). It takes no context: the record
// must land even if Pacemaker is already cancelling us.
func (a *Agent) write(cfg *config.Config, logger *slog.Logger, ev *record.Event) bool {
	w := &record.Writer{Dir: cfg.LogDir, Stderr: a.Stderr, Syslog: a.Syslog}
	if err := w.Write(ev); err != nil {
		logger.Error("fence record not written to the log directory", "error", err)
		return false
	}
	logger.Info("fence event recorded", "gfs2_filesystems", ev.GFS2Filesystems,
		"strategy", ev.Discovery.Strategy, "discovery_ms", ev.Discovery.DurationMS, "discovery_state", ev.Discovery.State)
	return true
}

// backgroundChain is the strategy chain running off the caller's
// goroutine. Even building the source and starting the chain (which reads
// the head-start plan) happens there: a file open that blocks must not hold
// the fence either.
type backgroundChain struct {
	order []string
	start chan startedChain
	s     startedChain // set once received from start
}

type startedChain struct {
	chain    *discovery.Chain
	closeSrc func(context.Context)
}

// startChain starts the chain for t in the background.
func (a *Agent) startChain(ctx context.Context, cfg *config.Config, logger *slog.Logger, t discovery.Target) *backgroundChain {
	bg := &backgroundChain{order: cfg.Discovery.Order, start: make(chan startedChain, 1)}
	go func() {
		src, closeSrc := a.source(cfg, logger)
		bg.start <- startedChain{discovery.Start(ctx, src, cfg.Discovery.Order, t, chainOptions(cfg, nil)), closeSrc}
	}()
	return bg
}

// reportBy waits on a timer and the chain alone, until the chain ends
// (done: its final report) or by fires (its best answer so far, or not
// started at all). No strategy, guest, command or file open has to return
// for reportBy to.
//
// When by has already fired (the bound passed while the caller was busy, as
// a storage fence is with nnf-sos), a chain that has ended still counts:
// select alone would pick at random between two ready channels.
func (bg *backgroundChain) reportBy(by <-chan time.Time) (rep discovery.Report, done bool) {
	if bg.s.chain == nil {
		select {
		case bg.s = <-bg.start:
		default:
			select {
			case bg.s = <-bg.start:
			case <-by:
				return discovery.NotStarted(bg.order), false
			}
		}
	}
	select {
	case <-bg.s.chain.Done():
		return bg.final(), true
	default:
	}
	select {
	case <-bg.s.chain.Done():
		return bg.final(), true
	case <-by:
		return bg.s.chain.Snapshot(), false
	}
}

// final is the ended chain's report; the source is closed.
func (bg *backgroundChain) final() discovery.Report {
	rep := bg.s.chain.Report()
	bg.s.closeSrc(context.Background())
	return rep
}

// wait waits for the chain's final report.
func (bg *backgroundChain) wait() discovery.Report {
	if bg.s.chain == nil {
		bg.s = <-bg.start
	}
	return bg.final()
}

// stop stops what still runs so its commands are killed before exit; it
// never waits for a strategy that does not return (the process exit ends
// it), nor for a chain that has not started.
func (bg *backgroundChain) stop() {
	if bg.s.chain == nil {
		return
	}
	stopped := make(chan struct{})
	go func() { bg.s.chain.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(stopWait):
	}
}

// deliveryAhead starts the delivery process before discovery when
// reporters are configured, so its start overlaps discovery instead of
// adding to the fence; afterRecord hands it its job. nil: no reporting, or
// it could not start (a later run delivers).
func (a *Agent) deliveryAhead(cfg *config.Config, logger *slog.Logger) *delivery {
	if !cfg.Reporting.Enabled() {
		return nil
	}
	d, err := a.spawnDelivery()
	if err != nil {
		logger.Error("could not start the delivery process; a later run delivers the record", "error", err)
		return nil
	}
	return d
}

// stopWait bounds how long a fence past its wait lets stopped strategies
// return; cancelled commands are killed in a few ms.
const stopWait = 100 * time.Millisecond

// chainOptions are the chain's options from the configuration; known are
// attempts a partial record already holds.
func chainOptions(cfg *config.Config, known []discovery.Attempt) discovery.Options {
	return discovery.Options{Budget: cfg.Discovery.Budget, HedgeAfter: cfg.Discovery.HedgeAfter, Known: known}
}

// source builds the discovery source and a function that closes it and
// logs a failure.
func (a *Agent) source(cfg *config.Config, logger *slog.Logger) (discovery.Source, func(context.Context)) {
	src, closeFn := discovery.Source(missingRuntime{}), func(context.Context) error { return nil }
	if a.NewSource != nil {
		src, closeFn = a.NewSource(cfg, logger)
	}
	return src, func(ctx context.Context) {
		if err := closeFn(context.WithoutCancel(ctx)); err != nil {
			logger.Warn("closing the discovery runtime", "error", err)
		}
	}
}

// discover runs the strategy chain to its end, or reports it disabled.
func (a *Agent) discover(ctx context.Context, cfg *config.Config, logger *slog.Logger, t discovery.Target, known []discovery.Attempt) discovery.Report {
	if !cfg.Discovery.Enabled {
		logger.Info("GFS2 discovery disabled")
		return discovery.Disabled()
	}
	src, closeSrc := a.source(cfg, logger)
	defer closeSrc(ctx)
	rep := discovery.Run(ctx, src, cfg.Discovery.Order, t, chainOptions(cfg, known))
	logAttempts(ctx, logger, rep)
	return rep
}

func logAttempts(ctx context.Context, logger *slog.Logger, rep discovery.Report) {
	for _, at := range rep.Attempts {
		l := logger.With("strategy", at.Strategy)
		for _, line := range at.Logs {
			l.Log(ctx, guestLevel(line.Level), line.Msg, "source", "guest")
		}
		level := slog.LevelDebug
		switch at.Outcome {
		case discovery.OutcomeFound, discovery.OutcomeEmpty, discovery.OutcomeSkipped, discovery.OutcomeInvalidTarget, discovery.OutcomePending:
		default:
			level = slog.LevelWarn
		}
		l.Log(ctx, level, "discovery attempt", "outcome", at.Outcome, "duration_ms", at.DurationMS, "error", at.Error,
			"hedge", at.Hedge)
	}
}

func guestLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// missingRuntime is the Source of a build without the wasm runtime wired in:
// each strategy attempt is an honest load error.
type missingRuntime struct{}

func (missingRuntime) Strategy(context.Context, string) (discovery.Strategy, error) {
	return nil, fmt.Errorf("no discovery runtime in this build")
}

// openFenceLog opens the operational log of an on, off or reboot, logs what
// is wrong with the input and configuration, and waits out --delay before
// an off or reboot. The returned log is never nil.
func (a *Agent) openFenceLog(ctx context.Context, run runConfig, p *options.Parsed, action string) (*record.OpLog, *slog.Logger) {
	oplog, logErr := record.OpenOpLog(run.cfg.LogDir, run.cfg.Verbose, a.Stderr)
	logger := oplog.Logger.With("action", action)
	if logErr != nil {
		logger.Error("operational log not writable; logging to stderr only", "error", logErr)
	}
	for _, w := range p.Warnings {
		logger.Warn("ignored input", "problem", w)
	}
	for _, w := range run.warnings {
		logger.Warn("configuration", "warning", w)
	}
	switch {
	case run.fallback:
		logger.Error("invalid configuration; recording with built-in defaults", "error", run.err, "log_dir", run.cfg.LogDir)
	case run.err != nil:
		logger.Error("invalid configuration or option values ignored; recording with the rest of the configuration", "error", run.err)
	}

	// fence-agents apply --delay to off and reboot (the actions that take a
	// node down), not to on.
	if d := run.cfg.Delay; d > 0 && action != "on" {
		logger.Info("delaying before recording", "delay", d)
		if err := a.Sleep(ctx, d); err != nil {
			logger.Warn("delay cut short", "error", err)
		}
	}
	return oplog, logger
}
