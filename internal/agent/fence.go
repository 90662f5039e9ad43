package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/nodename"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/options"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/version"
)

// fence records an on, off or reboot and returns ExitOK whatever happens:
// a failed discovery, a bad configuration or an unwritable log directory
// is recorded and logged, never turned into a failed fence.
func (a *Agent) fence(ctx context.Context, rc runConfig, p *options.Parsed, action string) int {
	oplog, logger := a.openFenceLog(ctx, rc, p, action)
	defer oplog.Close()

	ev := record.NewEvent(a.Now(), action)
	ev.AgentVersion = version.Version
	ev.RecorderNode = rc.cfg.RecorderNode
	ev.TargetNode = p.Target()
	ev.InputWarnings = p.Warnings
	ev.ConfigWarnings = rc.warnings
	if rc.err != nil {
		ev.ConfigError = rc.err.Error()
	}
	valid := true
	if err := nodename.Validate(ev.TargetNode); err != nil {
		valid = false
		ev.TargetNodeProblem = err.Error()
		if errors.Is(err, nodename.ErrEmpty) {
			ev.TargetNodeProblem = "no target node given (nodename, plug or port)"
		}
		ev.TargetNodeEscaped = record.EscapeToken(ev.TargetNode)
		logger.Warn("target node name is not plausible; recording it escaped, discovery not run",
			"target", ev.TargetNode, "problem", ev.TargetNodeProblem)
	}
	// slog quotes and escapes values, so the raw name cannot split a line.
	logger = logger.With("event_id", ev.EventID, "target", ev.TargetNode)

	if rc.cfg.Discovery.Enabled && rc.cfg.Discovery.Mode == config.ModeDeferred && valid {
		a.recordDeferred(ctx, &rc.cfg, logger, ev)
		return ExitOK
	}
	ev.Discovery = a.discover(ctx, &rc.cfg, logger, discovery.Target{Node: ev.TargetNode, Action: action}, valid)
	ev.GFS2Filesystems = ev.Discovery.Filesystems
	a.write(ctx, &rc.cfg, logger, ev)
	return ExitOK
}

// openFenceLog opens the operational log of an on, off or reboot, logs what
// is wrong with the input and configuration, and waits out --delay before
// an off or reboot. The returned log is never nil.
func (a *Agent) openFenceLog(ctx context.Context, rc runConfig, p *options.Parsed, action string) (*record.OpLog, *slog.Logger) {
	oplog, logErr := record.OpenOpLog(rc.cfg.LogDir, rc.cfg.Verbose, a.Stderr)
	logger := oplog.Logger.With("action", action)
	if logErr != nil {
		logger.Error("operational log not writable; logging to stderr only", "error", logErr)
	}
	for _, w := range p.Warnings {
		logger.Warn("ignored input", "problem", w)
	}
	for _, w := range rc.warnings {
		logger.Warn("configuration", "warning", w)
	}
	switch {
	case rc.loadErr:
		logger.Error("invalid configuration; recording with built-in defaults", "error", rc.err, "log_dir", rc.cfg.LogDir)
	case rc.err != nil:
		logger.Error("invalid option values ignored; recording with the configuration", "error", rc.err)
	}

	// fence-agents apply --delay to off and reboot (the actions that take a
	// node down), not to on.
	if d := rc.cfg.Delay; d > 0 && action != "on" {
		logger.Info("delaying before recording", "delay", d)
		if err := a.Sleep(ctx, d); err != nil {
			logger.Warn("delay cut short", "error", err)
		}
	}
	return oplog, logger
}

// discover runs the strategy chain, or reports it disabled.
func (a *Agent) discover(ctx context.Context, cfg *config.Config, logger *slog.Logger, t discovery.Target, valid bool) discovery.Report {
	if !cfg.Discovery.Enabled {
		logger.Info("GFS2 discovery disabled")
		return discovery.Disabled()
	}
	src, closeFn := discovery.Source(missingRuntime{}), func(context.Context) error { return nil }
	if a.NewSource != nil {
		src, closeFn = a.NewSource(cfg, logger)
	}
	defer func() {
		if err := closeFn(context.WithoutCancel(ctx)); err != nil {
			logger.Warn("closing the discovery runtime", "error", err)
		}
	}()
	rep := discovery.Run(ctx, src, cfg.Discovery.Order, t, valid, cfg.Discovery.Budget)
	for _, at := range rep.Attempts {
		l := logger.With("strategy", at.Strategy)
		for _, line := range at.Logs {
			l.Log(ctx, guestLevel(line.Level), line.Msg, "source", "guest")
		}
		level := slog.LevelDebug
		switch at.Outcome {
		case discovery.OutcomeFound, discovery.OutcomeEmpty, discovery.OutcomeSkipped, discovery.OutcomeInvalidTarget:
		default:
			level = slog.LevelWarn
		}
		l.Log(ctx, level, "discovery attempt", "outcome", at.Outcome, "duration_ms", at.DurationMS, "error", at.Error)
	}
	return rep
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
