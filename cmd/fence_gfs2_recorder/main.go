// Command fence_gfs2_recorder is a Pacemaker fence agent that fences
// nothing: it records each fence event and the GFS2 filesystems the target
// node was using. See README.md and `fence_gfs2_recorder --help`.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"golang.org/x/term"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/host"
	"github.com/NearNodeFlash/fence-gfs2-recorder/host/admin"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/agent"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/execcap"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/pairing"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/report"
)

// gcMemoryLimit is where the collector starts working when tuneGC has
// switched it off: the RSS a whole fence run is meant to stay under
// (docs/PERFORMANCE.md).
const gcMemoryLimit = 64 << 20

// stopSignals end the run early; the record is still written.
var stopSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT}

func main() {
	tuneGC()
	// pacemaker-fenced SIGKILLs the process group on timeout; SIGTERM and
	// SIGINT (an operator) end discovery early so the record is still
	// written. SIGHUP (a closed terminal or session) and SIGQUIT would
	// otherwise end the agent with no record at all, so they do the same.
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	a := &agent.Agent{
		// Run as fence_recorder (the symlink make install and the packages
		// create), storage-fence mode is the default.
		Name:      os.Args[0],
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		Environ:   os.Environ(),
		NewSource: hostSource,
		Admin:     admin.Main,
		MonitorChecks: []agent.MonitorCheck{
			{Name: "discovery strategies", Run: verifyStrategies},
			// A recorder that could fence alone makes Pacemaker believe a
			// node is fenced while it runs: fail monitor and validate-all.
			{Name: "pairing safety check", Run: pairing.Check, Validate: true},
		},
		NewReporters: hostReporters,
	}
	a.MonitorChecks = append(a.MonitorChecks, a.BacklogCheck())
	if len(os.Args) == 1 && term.IsTerminal(int(os.Stdin.Fd())) {
		// Pacemaker always pipes stdin; a person at a terminal would
		// otherwise just see the agent hang.
		fmt.Fprintln(os.Stderr, "fence_gfs2_recorder: reading key=value options from stdin (end with Ctrl-D); see --help")
	}
	code := a.Run(ctx, os.Args[1:])
	stop()
	// Whatever a strategy left running (a command past the fence wait, a
	// descendant that escaped its process group) dies with the run, not
	// after it; the detached completion and delivery processes are spared.
	execcap.KillAll()
	os.Exit(code)
}

// tuneGC turns the collector off and lets the memory limit alone trigger it.
// A fence run lives tens of milliseconds and most of what it allocates
// (wazero reading and validating modules from the compile cache) is live
// until exit, so collecting during load only costs time and makes run times
// bimodal (docs/PERFORMANCE.md). GOGC or GOMEMLIMIT in the environment win.
func tuneGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(gcMemoryLimit)
}

// hostSource runs strategies as WebAssembly modules in wazero.
func hostSource(cfg *config.Config, logger *slog.Logger) (discovery.Source, func(context.Context) error) {
	src := host.NewSource(cfg, logger)
	// Load the next strategy while the current one waits on its command.
	// FGR_PREFETCH=0 switches it off, only to measure it (make bench).
	src.Prefetch = os.Getenv("FGR_PREFETCH") != "0"
	// Start the first strategy's remembered first command while its module
	// loads. FGR_HEAD_START=0 switches it off, only to measure it.
	src.HeadStart = os.Getenv("FGR_HEAD_START") != "0"
	// A cold compile uses every CPU; FGR_COMPILE_WORKERS=1 compiles on one,
	// only to measure it (make bench).
	if os.Getenv("FGR_COMPILE_WORKERS") == "1" {
		src.CompileWorkers = 1
	}
	return src, src.Close
}

// hostReporters runs reporters as WebAssembly modules in wazero.
func hostReporters(cfg *config.Config, logger *slog.Logger) (report.Deliverer, func(context.Context) error) {
	r := host.NewReporters(cfg, logger)
	return r, r.Close
}

// verifyStrategies makes monitor fail when an enabled chain has a strategy
// that does not load, so a broken install shows as FAILED before a fence.
func verifyStrategies(ctx context.Context, cfg *config.Config, _ *slog.Logger) error {
	if !cfg.Discovery.Enabled {
		return nil
	}
	return host.Verify(ctx, cfg)
}
