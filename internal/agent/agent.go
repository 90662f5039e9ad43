// Package agent is the fence-agent core: it turns one invocation (argv, or
// key=value lines on stdin when there is no argv) into an action and an exit
// code, following ClusterLabs' FenceAgentAPI.
//
// on, off and reboot are recorded (with the GFS2 filesystems discovery finds)
// and always succeed: the recorder sits beside the real fence device in a
// topology level and must never be the reason a fence fails. metadata, help
// and version have no side effects at all, since Pacemaker runs metadata as
// the unprivileged hacluster user.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/options"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/storagefence"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/version"
)

// Exit codes, as fence-agents' lib/fencing.py names them.
const (
	ExitOK           = 0 // EC_OK
	ExitGenericError = 1 // EC_GENERIC_ERROR: bad usage, unknown action, failed monitor/validate-all
)

// SourceFactory builds the discovery source for one run and returns a
// function that releases it. main wires host.NewSource; tests pass fakes.
type SourceFactory func(cfg *config.Config, logger *slog.Logger) (src discovery.Source, closeFn func(context.Context) error)

// AdminFunc runs the `plugins ...` subcommand (host/admin.Main).
type AdminFunc func(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer) int

// MonitorCheck is one thing the monitor action verifies. The agent always
// checks the configuration and the log directory first; main adds the
// checks other packages own (strategies load, pairing safety check).
type MonitorCheck struct {
	Name string
	Run  func(ctx context.Context, cfg *config.Config, logger *slog.Logger) error
	// Validate: validate-all runs this check too (pcs runs validate-all when
	// a device is created or updated). It gets a logger that writes
	// warnings to stderr, since validate-all creates no log files.
	Validate bool
}

// Agent holds the process's inputs and the seams to other packages. The zero
// value of every field except Stdout/Stderr has a working default.
type Agent struct {
	// Name is argv[0]; run as fence_recorder, storage-fence mode is the default.
	Name           string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Environ        []string
	Now            func() time.Time
	Hostname       func() (string, error)
	// LoadConfig is config.Load unless a test says otherwise.
	LoadConfig func(config.LoadOptions) (*config.Loaded, error)
	// NewSource builds the discovery source. nil: every strategy attempt
	// is a load error saying the runtime is missing.
	NewSource SourceFactory
	// Admin runs `plugins ...`; nil: the subcommand reports it is missing.
	Admin AdminFunc
	// MonitorChecks run after the built-in monitor checks, in order.
	MonitorChecks []MonitorCheck
	// Sleep waits for --delay; it returns early when ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
	// FallbackLogDir is where records go when the configuration cannot be
	// loaded and no valid log_dir option was given; "" means the built-in
	// default (config.DefaultLogDir).
	FallbackLogDir string
	// Syslog receives a record that could not be written to the log
	// directory; nil: /dev/log.
	Syslog func(msg string) error
	// Detach starts the detached process of deferred discovery; nil:
	// DetachSelf (re-exec of this binary in its own session).
	Detach DetachFunc
	// NewReporters builds the reporters of a delivery (reporting.go); nil:
	// every delivery fails, saying the runtime is missing.
	NewReporters ReporterFactory
	// SpawnDelivery starts the detached delivery process, which reads its
	// job from the returned writer; nil: a re-exec of this binary like
	// Detach.
	SpawnDelivery func(environ []string) (io.WriteCloser, error)

	started time.Time // when Run began: the fence-wait metric
}

func (a *Agent) defaults() {
	if a.Stdout == nil {
		a.Stdout = io.Discard
	}
	if a.Stderr == nil {
		a.Stderr = io.Discard
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Hostname == nil {
		a.Hostname = os.Hostname
	}
	if a.LoadConfig == nil {
		a.LoadConfig = config.Load
	}
	if a.Sleep == nil {
		a.Sleep = sleepCtx
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run executes one invocation; args excludes the program name.
func (a *Agent) Run(ctx context.Context, args []string) int {
	a.started = time.Now()
	a.defaults()
	if len(args) == 1 && args[0] == DeferredSubcommand {
		return a.finishDeferred(ctx)
	}
	if len(args) == 1 && args[0] == DeliverSubcommand {
		return a.finishDelivery(ctx)
	}
	var p *options.Parsed
	if len(args) == 0 {
		// FenceAgentAPI: options come on stdin only when there is no argv.
		p = options.ParseStdin(a.Stdin)
	} else {
		var err error
		if p, err = options.ParseArgs(args); err != nil {
			a.errorf("%v\nTry '%s --help'.", err, options.AgentName)
			return ExitGenericError
		}
	}

	// Commands without side effects: nothing is read, created or logged.
	switch {
	case p.Flag(options.Help):
		_ = options.WriteHelp(a.Stdout)
		return ExitOK
	case p.Flag(options.Version):
		fmt.Fprintf(a.Stdout, "%s %s\n", options.AgentName, version.Version)
		return ExitOK
	case p.Flag(options.PrintMarkdown):
		_ = options.WriteMarkdown(a.Stdout)
		return ExitOK
	case p.Subcommand == options.SubConfig || p.Flag(options.ShowConfig):
		return a.showConfig(p)
	case p.Subcommand == options.SubPlugins:
		return a.plugins(ctx, p)
	case p.Subcommand == options.SubMarkers:
		return a.markers(p)
	case p.Subcommand == options.SubUnfence:
		return a.unfence(p)
	}

	action := p.Action()
	switch action {
	case "metadata":
		if err := options.WriteMetadata(a.Stdout); err != nil {
			a.errorf("write metadata: %v", err)
			return ExitGenericError
		}
		return ExitOK
	}
	if !options.IsAction(action) {
		a.errorf("unknown action %s (known actions: %s)", options.Quote(action), strings.Join(options.Actions, ", "))
		return ExitGenericError
	}
	run := a.loadConfig(p)
	storage := a.storageMode(p, &run)
	if action == "status" {
		if storage {
			return a.storageStatus(run, p)
		}
		// A recorder cannot know the power state and must never claim a
		// node is off: that could let Pacemaker consider it fenced.
		fmt.Fprintln(a.Stdout, "Status: ON")
		return ExitOK
	}
	if action != "on" && action != "off" && action != "reboot" {
		// A fence logs these to the operational log (and stderr) itself.
		for _, w := range p.Warnings {
			a.errorf("warning: %s", w)
		}
	}
	switch {
	case action == "list" && storage:
		return a.storageList(run, p)
	case action == "list":
		return a.list(run)
	case action == "validate-all":
		return a.validateAll(ctx, run, p)
	case action == "monitor":
		return a.monitor(ctx, run)
	case action == "on" && storage:
		return a.storageOn(ctx, run, p)
	case storage: // off, reboot
		return a.storageFence(ctx, run, p, action)
	default: // on, off, reboot
		return a.fence(ctx, run, p, action)
	}
}

// runConfig is the configuration of this run, or the fallback used to
// record despite a bad one.
type runConfig struct {
	cfg      config.Config
	err      error // what is wrong: bad option values, or a configuration that did not load
	fallback bool  // the configuration did not load: cfg is the built-in fallback
	warnings []string
	sources  map[string]string // where each key came from; nil for the fallback
}

// loadConfig loads the layered configuration with the valid option values.
// An option value that does not parse (delay=soon) is reported in err but
// does not throw away the configuration file. When loading fails, cfg is the
// built-in defaults plus the option-layer values that are valid on their own
// (log_dir, verbose, discovery switched off), so a fence is still recorded
// where the operator asked.
func (a *Agent) loadConfig(p *options.Parsed) runConfig {
	overrides, optErrs := p.Overrides()
	var run runConfig
	l, err := a.LoadConfig(config.LoadOptions{File: p.ConfigFile(), Environ: a.Environ,
		Overrides: overrides, OverrideLayer: p.Layer, DiscardInvalid: true})
	if l != nil {
		run = runConfig{cfg: l.Config, warnings: l.Warnings, sources: l.Sources}
		if err != nil {
			// Bad keys of the file or the environment were dropped; the
			// rest of the configuration (its log_dir first) holds.
			err = fmt.Errorf("invalid configuration values ignored: %w", err)
		}
	}
	run.err = errors.Join(append(optErrs, err)...)
	run.fallback = l == nil
	if run.fallback {
		run.cfg = config.Defaults()
		if a.FallbackLogDir != "" {
			run.cfg.LogDir = a.FallbackLogDir
		}
		if s, ok := overrides["log_dir"].(string); ok && s != "" {
			// Only a log_dir the configuration rules accept (absolute, no
			// control bytes): a relative one would land in fenced's cwd.
			// From stdin, none in the system trees either.
			try := config.Defaults()
			try.LogDir = s
			if try.Validate() == nil && (p.Layer != options.LayerStdin || config.CheckStdinLogDir(s) == nil) {
				run.cfg.LogDir = s
			}
		}
		if b, ok := overrides["verbose"].(bool); ok {
			run.cfg.Verbose = b
		}
		if b, ok := overrides["discovery.enabled"].(bool); ok && !b {
			run.cfg.Discovery.Enabled = false
		}
		// A storage fence must still fence where the device says: keep each
		// storage_fence option the configuration rules accept on its own.
		for key, v := range overrides {
			if strings.HasPrefix(key, "storage_fence.") {
				applyStorageOverride(&run.cfg, key, v)
			}
		}
	}
	if run.cfg.RecorderNode == "" {
		if h, err := a.Hostname(); err == nil {
			run.cfg.RecorderNode = h
		}
	}
	return run
}

func (a *Agent) errorf(format string, args ...any) {
	fmt.Fprintf(a.Stderr, "%s: %s\n", options.AgentName, fmt.Sprintf(format, args...))
}

// strictConfig loads the configuration for the admin subcommands, which,
// unlike a fence, have no reason to go on with defaults: any bad option or
// configuration value is reported on stderr and the subcommand fails.
func (a *Agent) strictConfig(p *options.Parsed) (*config.Loaded, bool) {
	overrides, optErrs := p.Overrides()
	if len(optErrs) > 0 {
		a.errorf("%v", errors.Join(optErrs...))
		return nil, false
	}
	l, err := a.LoadConfig(config.LoadOptions{File: p.ConfigFile(), Environ: a.Environ,
		Overrides: overrides, OverrideLayer: p.Layer})
	if err != nil {
		a.errorf("invalid configuration: %v", err)
		return nil, false
	}
	return l, true
}

func (a *Agent) showConfig(p *options.Parsed) int {
	l, ok := a.strictConfig(p)
	if !ok {
		return ExitGenericError
	}
	l.Print(a.Stdout)
	for _, w := range l.Warnings {
		a.errorf("warning: %s", w)
	}
	return ExitOK
}

func (a *Agent) plugins(ctx context.Context, p *options.Parsed) int {
	if a.Admin == nil {
		a.errorf("the plugins subcommand is not available in this build")
		return ExitGenericError
	}
	l, ok := a.strictConfig(p)
	if !ok {
		return ExitGenericError
	}
	return a.Admin(ctx, &l.Config, p.SubArgs, a.Stdout, a.Stderr)
}

func (a *Agent) list(run runConfig) int {
	if run.err != nil {
		a.errorf("invalid configuration: %v", run.err)
		return ExitGenericError
	}
	for _, h := range run.cfg.Hosts {
		fmt.Fprintln(a.Stdout, h)
	}
	return ExitOK
}

func (a *Agent) validateAll(ctx context.Context, run runConfig, p *options.Parsed) int {
	if run.err != nil {
		a.errorf("invalid configuration: %v", run.err)
		return ExitGenericError
	}
	if run.cfg.StorageFence.Enabled {
		// pcs runs validate-all with the device's port: refuse one a fence
		// would refuse, before it is needed.
		if t := p.StorageTarget(); t != "" {
			if err := storagefence.CheckTarget(t, a.hostnames(run)...); err != nil {
				a.errorf("validate-all: port/plug: %v", err)
				return ExitGenericError
			}
		}
	}
	for _, w := range run.warnings {
		a.errorf("warning: %s", w)
	}
	code := ExitOK
	logger := slog.New(slog.NewTextHandler(a.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, c := range a.MonitorChecks {
		if !c.Validate {
			continue
		}
		if err := c.Run(ctx, &run.cfg, logger); err != nil {
			a.errorf("validate-all: %s: %v", c.Name, err)
			code = ExitGenericError
		}
	}
	return code
}

// applyStorageOverride sets one storage_fence option on the fallback
// configuration when it is valid on its own.
func applyStorageOverride(cfg *config.Config, key string, v any) {
	try := *cfg
	switch x := v.(type) {
	case bool:
		if key == "storage_fence.enabled" {
			try.StorageFence.Enabled = x
		}
	case string:
		switch key {
		case "storage_fence.request_dir":
			try.StorageFence.RequestDir = x
		case "storage_fence.response_dir":
			try.StorageFence.ResponseDir = x
		}
	case time.Duration:
		switch key {
		case "storage_fence.timeout":
			try.StorageFence.Timeout = x
		case "storage_fence.poll_interval":
			try.StorageFence.PollInterval = x
		}
	}
	if try.Validate() == nil {
		*cfg = try
	}
}
