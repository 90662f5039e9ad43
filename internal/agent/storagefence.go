package agent

// Storage-fence mode (storage_fence.enabled, nnf_storage_fence=1, or the
// binary run as fence_recorder): the agent is a real fence device. off and
// reboot publish a fence request for nnf-sos's node manager on this rabbit,
// which deletes the target's GFS2 storage groups and answers; the agent
// exits 0 only when the answer says success. Discovery runs while nnf-sos
// works, so the record still names the GFS2 filesystems. No other action
// ever writes a request.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/options"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/storagefence"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/version"
)

// ExitStatusOff is fence-agents' EC_STATUS: status reports the target off.
const ExitStatusOff = 2

// StorageFenceName is the name under which the binary is in storage-fence
// mode by default: a drop-in for NNF's fence_recorder.
const StorageFenceName = "fence_recorder"

// StatusOnIgnored is the record status of an on in storage-fence mode:
// storage comes back only when an admin removes the markers (unfence).
const StatusOnIgnored = "on-ignored"

// unansweredFactor: monitor fails when a request is older than this many
// fence timeouts (no agent of ours waits that long; nnf-sos answers in
// seconds when its node manager runs).
const unansweredFactor = 2

// storageMode decides the mode and records it in cfg, so that checks
// handed the configuration (pairing) see it.
//
// A nnf_storage_fence value that does not parse turns the mode on: the
// device asked for something, and a real fence attempt that may fail is
// safe where a recorder's unconditional success would not be.
func (a *Agent) storageMode(p *options.Parsed, run *runConfig) bool {
	on := run.cfg.StorageFence.Enabled
	explicit := run.sources != nil && run.sources["storage_fence.enabled"] != config.SourceDefault
	if v, given := p.Values[options.NNFStorageFence]; given {
		b, err := options.ParseBool(v)
		on, explicit = b || err != nil, true
	}
	if !explicit && filepath.Base(a.Name) == StorageFenceName {
		on = true
	}
	run.cfg.StorageFence.Enabled = on
	return on
}

// hostnames are this host's names, which a storage fence must never target.
func (a *Agent) hostnames(run runConfig) []string {
	names := []string{run.cfg.RecorderNode}
	if h, err := a.Hostname(); err == nil {
		names = append(names, h)
	}
	return names
}

// storageFence runs off or reboot in storage-fence mode.
func (a *Agent) storageFence(ctx context.Context, run runConfig, p *options.Parsed, action string) int {
	oplog, logger := a.openFenceLog(ctx, run, p, action)
	defer oplog.Close()

	target := discovery.NewTarget(p.StorageTarget(), action)
	ev := a.newEvent(run, p, target)
	if n := p.Values[options.Nodename]; n != "" && n != ev.TargetNode {
		ev.NodeName = n
	}
	logger = logger.With("event_id", ev.EventID, "target", ev.TargetNode, "mode", "storage-fence")

	cfg := &run.cfg
	sf := cfg.StorageFence
	var (
		bg      *backgroundChain
		discEnd <-chan time.Time
		d       *delivery // started once the request is out, never before it
	)
	params := storagefence.Params{
		RequestDir: sf.RequestDir, ResponseDir: sf.ResponseDir,
		Target: ev.TargetNode, Action: action, RecorderNode: run.cfg.RecorderNode,
		Hostnames: a.hostnames(run),
		Timeout:   sf.Timeout, Poll: sf.PollInterval, CleanupMaxAge: sf.CleanupMaxAge,
		Now: func() time.Time { return a.Now().Local() },
		Published: func() {
			d = a.deliveryAhead(cfg, logger)
			if cfg.Discovery.Enabled && target.Discoverable() {
				logger.Info("fence request published; discovering while nnf-sos works")
				discEnd = time.After(cfg.Discovery.WaitBound())
				bg = a.startChain(ctx, cfg, logger, target)
			}
		},
		Logf: func(msg string, args ...any) { logger.Warn(msg, args...) },
	}
	res := storagefence.Fence(ctx, params)
	if res.Outcome == storagefence.OutcomeRefused && res.RequestFile == "" {
		// The protocol's own refusal (this host's name, say) is the
		// target's problem too; the name is already escaped if implausible.
		ev.TargetNodeProblem = res.Error
	}
	ev.StorageFence = &res
	ev.Status = string(res.Outcome)
	ev.Details = storageDetails(action, &res)
	for _, f := range res.CleanedUp {
		logger.Warn("stale fence request removed", "file", f)
	}
	level := slog.LevelInfo
	if !res.ExitOK() {
		level = slog.LevelError
	}
	logger.Log(ctx, level, "storage fence "+string(res.Outcome), "request_file", res.RequestFile, "wait_ms", res.WaitMS,
		"message", res.Message, "error", res.Error, "request_withdrawn", res.Withdrawn)
	if bg == nil {
		// Refused before any request: nothing to discover for. Or
		// discovery is off, or the name is not one it may see: the
		// chain says so at once, running nothing.
		rep := notRun(cfg)
		if res.RequestFile != "" {
			rep = a.discover(ctx, cfg, logger, target, nil)
		}
		ev.SetDiscovery(rep)
		if d == nil {
			d = a.deliveryAhead(cfg, logger)
		}
		a.afterRecord(ctx, cfg, logger, ev, recordFence, a.write(cfg, logger, ev), d)
	} else {
		// The answer decides the fence; discovery gets what is left of
		// its fence wait, counted from the request, and no more. What it
		// has not finished by then follows in a completion record.
		rep, done := bg.reportBy(discEnd)
		a.recordAndFinish(ctx, cfg, logger, ev, bg, rep, done, d)
	}
	if res.ExitOK() {
		return ExitOK
	}
	return ExitGenericError
}

func storageDetails(action string, r *storagefence.Record) string {
	switch r.Outcome {
	case storagefence.OutcomeFenced:
		return fmt.Sprintf("Storage fence %s completed by nnf-sos: %s", action, r.Message)
	case storagefence.OutcomeRefused:
		if r.RequestFile == "" {
			return fmt.Sprintf("Storage fence %s refused before any request: %s", action, r.Error)
		}
		return fmt.Sprintf("Storage fence %s failed, nnf-sos refused: %s", action, firstNonEmpty(r.Message, r.Error))
	}
	// timeout, error
	return fmt.Sprintf("Storage fence %s failed: %s", action, r.Error)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// notRun is the discovery report of a fence refused before its request.
func notRun(cfg *config.Config) discovery.Report {
	if !cfg.Discovery.Enabled {
		return discovery.Disabled()
	}
	return discovery.Report{Enabled: true, Attempts: []discovery.Attempt{}, Filesystems: []string{discovery.NoneDetected}}
}

// storageOn: on never writes a request and never touches a marker; it is
// recorded so the audit trail shows Pacemaker asked.
func (a *Agent) storageOn(ctx context.Context, run runConfig, p *options.Parsed) int {
	oplog, logger := a.openFenceLog(ctx, run, p, "on")
	defer oplog.Close()
	ev := record.NewEvent(a.Now(), "on")
	ev.AgentVersion = version.Version
	ev.RecorderNode = run.cfg.RecorderNode
	ev.TargetNode = p.StorageTarget()
	ev.InputWarnings = p.Warnings
	ev.ConfigWarnings = run.warnings
	ev.Status = StatusOnIgnored
	ev.Details = "Storage fence on: nothing done; storage comes back only when the fence markers are removed (unfence)"
	ev.Discovery = discovery.Disabled()
	ev.GFS2Filesystems = ev.Discovery.Filesystems
	a.write(&run.cfg, logger.With("event_id", ev.EventID, "target", ev.TargetNode), ev)
	return ExitOK
}

// storageStatus: OFF while nnf-sos keeps a success marker for the target.
func (a *Agent) storageStatus(run runConfig, p *options.Parsed) int {
	target := p.StorageTarget()
	if err := storagefence.CheckTarget(target); err != nil {
		a.errorf("status: %v", err)
		return ExitGenericError
	}
	markers, err := storagefence.Markers(run.cfg.StorageFence.ResponseDir, target)
	if err != nil {
		a.errorf("status: read fence markers: %v", err)
		return ExitGenericError
	}
	if len(markers) > 0 {
		fmt.Fprintln(a.Stdout, "Status: OFF")
		return ExitStatusOff
	}
	fmt.Fprintln(a.Stdout, "Status: ON")
	return ExitOK
}

// storageList prints the configured plug (or port), else the configured hosts.
func (a *Agent) storageList(run runConfig, p *options.Parsed) int {
	t := p.Values[options.Plug]
	if t == "" {
		t = p.Values[options.Port]
	}
	if t != "" {
		if storagefence.CheckTarget(t) != nil {
			a.errorf("list: the configured plug is not a usable node name")
			return ExitGenericError
		}
		fmt.Fprintln(a.Stdout, t)
		return ExitOK
	}
	return a.list(run)
}

// storageMonitor checks what a storage fence needs: both directories there
// (created if missing), the request directory writable, the response
// directory readable, and no request of this protocol left unanswered far
// longer than nnf-sos takes (its node manager is down or stuck).
func storageMonitor(sf config.StorageFence, now time.Time) error {
	if err := storagefence.EnsureDirs(sf.RequestDir, sf.ResponseDir); err != nil {
		return err
	}
	if err := unix.Access(sf.RequestDir, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("request directory %s is not writable: %w", sf.RequestDir, err)
	}
	if err := unix.Access(sf.ResponseDir, unix.R_OK|unix.X_OK); err != nil {
		return fmt.Errorf("response directory %s is not readable: %w", sf.ResponseDir, err)
	}
	reqs, err := storagefence.Requests(sf.RequestDir)
	if err != nil {
		return fmt.Errorf("list %s: %w", sf.RequestDir, err)
	}
	limit := unansweredFactor * sf.Timeout
	for _, f := range reqs {
		if age := f.Age(now); age > limit {
			return fmt.Errorf("fence request %s unanswered for %s (more than %s): is nnf-sos's node manager running on this rabbit?",
				f.Path, age.Round(time.Second), limit)
		}
	}
	return nil
}

// subFlags splits a storage admin subcommand's words into its own flags,
// its positional arguments, and agent options (--response-dir ...), which
// are merged into p.
func subFlags(p *options.Parsed, words []string, own ...string) (flags map[string]bool, args []string, err error) {
	flags = map[string]bool{}
	var rest []string
	for _, w := range words {
		switch {
		case strings.HasPrefix(w, "--") && slices.Contains(own, w[2:]):
			flags[w[2:]] = true
		case strings.HasPrefix(w, "-"):
			rest = append(rest, w)
		case len(rest) > 0 && !strings.Contains(rest[len(rest)-1], "=") && needsValue(rest[len(rest)-1]):
			rest = append(rest, w)
		default:
			args = append(args, w)
		}
	}
	if len(rest) > 0 {
		more, err := options.ParseArgs(rest)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range more.Values {
			p.Values[k] = v
		}
	}
	return flags, args, nil
}

func needsValue(flag string) bool {
	name := strings.TrimLeft(flag, "-")
	for _, o := range options.Table {
		if (o.Long == name || o.Short == name) && o.ArgName != "" {
			return true
		}
	}
	return false
}

// markers lists nnf-sos's fence markers: fenced computes, when, message.
func (a *Agent) markers(p *options.Parsed) int {
	flags, args, err := subFlags(p, p.SubArgs, "json")
	if err != nil || len(args) > 1 {
		a.errorf("usage: %s markers [--json] [NODE]", options.AgentName)
		return ExitGenericError
	}
	l, ok := a.strictConfig(p)
	if !ok {
		return ExitGenericError
	}
	node := ""
	if len(args) == 1 {
		node = args[0]
	}
	ms, err := storagefence.Markers(l.Config.StorageFence.ResponseDir, node)
	if err != nil {
		a.errorf("markers: %v", err)
		return ExitGenericError
	}
	if flags["json"] {
		if ms == nil {
			ms = []storagefence.Marker{}
		}
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(ms)
		return ExitOK
	}
	if len(ms) == 0 {
		fmt.Fprintf(a.Stdout, "no fence markers in %s\n", l.Config.StorageFence.ResponseDir)
		return ExitOK
	}
	for _, m := range ms {
		fmt.Fprintf(a.Stdout, "%s\t%s\t%s\t%s\n", record.EscapeToken(m.Node), m.Time.Local().Format(time.RFC3339),
			record.EscapeToken(m.File), record.EscapeText(m.Message))
	}
	return ExitOK
}

// unfence removes a compute's markers (and failure answers) with unlink,
// after a confirmation unless --yes. nnf-sos documents removing them as the
// only way to give a fenced compute its storage back.
func (a *Agent) unfence(p *options.Parsed) int {
	flags, args, err := subFlags(p, p.SubArgs, "yes")
	if err != nil || len(args) != 1 {
		a.errorf("usage: %s unfence NODE [--yes]", options.AgentName)
		return ExitGenericError
	}
	l, ok := a.strictConfig(p)
	if !ok {
		return ExitGenericError
	}
	node, sf := args[0], l.Config.StorageFence
	if err := storagefence.CheckTarget(node); err != nil {
		a.errorf("unfence: %v", err)
		return ExitGenericError
	}
	all, err := storagefence.Responses(sf.ResponseDir, node)
	if err != nil {
		a.errorf("unfence: %v", err)
		return ExitGenericError
	}
	if len(all) == 0 {
		fmt.Fprintf(a.Stdout, "no fence markers for %s in %s\n", record.EscapeToken(node), sf.ResponseDir)
		return ExitOK
	}
	if !flags["yes"] {
		fmt.Fprintf(a.Stdout, "Make sure %s has been recovered (rebooted, GFS2 clean) first.\nRemove %d response file(s) for %s from %s, so nnf-sos restores its storage? [y/N] ",
			record.EscapeToken(node), len(all), record.EscapeToken(node), sf.ResponseDir)
		in := a.Stdin
		if in == nil {
			in = strings.NewReader("")
		}
		line, _ := bufio.NewReader(in).ReadString('\n')
		if answer := strings.ToLower(strings.TrimSpace(line)); answer != "y" && answer != "yes" {
			fmt.Fprintln(a.Stdout, "nothing removed")
			return ExitGenericError
		}
	}
	removed, err := storagefence.Unfence(sf.RequestDir, sf.ResponseDir, node)
	for _, m := range removed {
		fmt.Fprintf(a.Stdout, "removed %s\n", record.EscapeToken(m.File))
	}
	if err != nil {
		a.errorf("unfence: %v", err)
		return ExitGenericError
	}
	return ExitOK
}
