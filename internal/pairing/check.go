package pairing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/execcap"
)

// CommandName is the configured command (commands.cibadmin) the check runs.
const CommandName = "cibadmin"

// QueryArgs are appended to the command's configured arguments: only the
// configuration section, where resources and the topology live.
var QueryArgs = []string{"--query", "--scope", "configuration"}

// Check is the monitor and validate-all check: nil when no enabled recorder
// could fence alone, else every problem joined in one error.
//
// When the CIB cannot be read (cibadmin missing, cluster not running) it
// logs a warning and passes: it guards against a misconfiguration it can
// see, it is not a liveness check, and failing monitor would only make the
// device FAILED for a reason the operator cannot fix in the topology.
func Check(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if !cfg.Safety.PairingCheck {
		logger.Debug("pairing check off (safety.pairing_check: false)")
		return nil
	}
	cib, err := ReadCIB(ctx, cfg)
	if err != nil {
		logger.Warn("pairing check skipped: cannot read the CIB, so it cannot prove a recorder is paired", "error", err)
		return nil
	}
	// In storage-fence mode this agent is a real fence: only devices that
	// still record passively must be paired.
	problems, err := FindWith(cib, Options{StorageFenceDefault: cfg.StorageFence.Enabled})
	if err != nil {
		logger.Warn("pairing check skipped: cannot read the CIB, so it cannot prove a recorder is paired", "error", err)
		return nil
	}
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// ReadCIB runs the configured cibadmin (directly, never through a shell, with
// its timeout and environment) and returns the configuration section.
func ReadCIB(ctx context.Context, cfg *config.Config) ([]byte, error) {
	cmd, err := execcap.FromConfig(cfg, CommandName)
	if err != nil {
		return nil, err
	}
	// monitor and validate-all have no chain deadline of their own: a
	// cibadmin configured with timeout 0 still gets one.
	timeout := cmd.Timeout
	if timeout <= 0 {
		timeout = config.DefaultStrategyTimeout
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	r := execcap.Run(ctx, cmd, QueryArgs)
	argv := strings.Join(append(append([]string{cmd.Path}, cmd.Args...), QueryArgs...), " ")
	switch {
	case r.StartFailed:
		return nil, fmt.Errorf("run %s: %w", argv, r.Err)
	case r.TimedOut:
		return nil, fmt.Errorf("%s: no answer within %s", argv, timeout)
	case r.ExitCode != 0:
		return nil, fmt.Errorf("%s: exit code %d: %s", argv, r.ExitCode, firstLine(r.Stderr))
	case r.StdoutTruncated:
		return nil, fmt.Errorf("%s: output exceeds commands.%s.output_cap (%d bytes)", argv, CommandName, cmd.OutputCap)
	}
	return r.Stdout, nil
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "no error output"
	}
	return s
}
