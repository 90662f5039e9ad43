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
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/host"
	"github.com/NearNodeFlash/fence-gfs2-recorder/host/admin"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/agent"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/pairing"
)

func main() {
	// pacemaker-fenced SIGKILLs the process group on timeout; SIGTERM and
	// SIGINT (an operator) end discovery early so the record is still written.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	a := &agent.Agent{
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
	}
	if len(os.Args) == 1 && isTerminal(os.Stdin) {
		// Pacemaker always pipes stdin; a person at a terminal would
		// otherwise just see the agent hang.
		fmt.Fprintln(os.Stderr, "fence_gfs2_recorder: reading key=value options from stdin (end with Ctrl-D); see --help")
	}
	code := a.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// hostSource runs strategies as WebAssembly modules in wazero.
func hostSource(cfg *config.Config, logger *slog.Logger) (discovery.Source, func(context.Context) error) {
	src := host.NewSource(cfg, logger)
	return src, src.Close
}

// verifyStrategies makes monitor fail when an enabled chain has a strategy
// that does not load, so a broken install shows as FAILED before a fence.
func verifyStrategies(ctx context.Context, cfg *config.Config, _ *slog.Logger) error {
	if !cfg.Discovery.Enabled {
		return nil
	}
	return host.Verify(ctx, cfg)
}
