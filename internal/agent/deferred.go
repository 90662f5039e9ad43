package agent

// The detached completion of discovery. In deferred mode (discovery.mode:
// deferred, or fence_wait 0) the fence is recorded at once with discovery
// "pending"; in bounded mode, when fence_wait ends first, with the best
// answer so far and discovery "partial". Either way the agent exits 0 to
// fenced, and a detached process (its own session, so fenced SIGKILLing the
// agent's process group on timeout does not reach it) runs the strategies
// that had not finished and appends a second record with the same
// event_id and discovery "complete" or "failed". Readers keep the last
// record of each event_id.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
)

// DeferredSubcommand is the hidden argv of the detached process. It is not
// an option (fenced never sends it) and not in --help: only the agent runs it.
const DeferredSubcommand = "__finish-deferred-discovery"

// Discovery states of a deferred event (discovery.Report.State).
const (
	StatePending  = "pending"  // first record: discovery not run yet
	StateComplete = "complete" // second record: the chain ran and at least one strategy answered (found or empty)
	StateFailed   = "failed"   // second record: no strategy could answer (errors, timeouts, load errors)
)

// DiscoveryPending is gfs2_filesystems of a first record without an answer
// (discovery.Pending).
const DiscoveryPending = discovery.Pending

// maxJobBytes bounds what the detached process reads from its pipe: the
// configuration and one event, far below this.
const maxJobBytes = 4 << 20

// DetachFunc starts the detached process that finishes discovery and hands
// it job (the encoded deferredJob). It must return without waiting for it.
type DetachFunc func(job []byte, environ []string) error

// deferredJob is what the agent hands the detached process: the effective
// configuration (so stdin options such as log_dir still apply) and the first
// record.
type deferredJob struct {
	Config config.Config `json:"config"`
	Event  *record.Event `json:"event"`
}

// recordDeferred writes the pending record and starts the detached process.
// If that process cannot be started, discovery runs here and the second
// record is written inline: the audit trail gets both records either way.
func (a *Agent) recordDeferred(ctx context.Context, cfg *config.Config, logger *slog.Logger, ev *record.Event) {
	ev.SetDiscovery(discovery.Report{Enabled: true, State: StatePending, Attempts: []discovery.Attempt{},
		Filesystems: []string{DiscoveryPending}})
	written := a.write(cfg, logger, ev)
	a.afterRecord(ctx, cfg, logger, ev, recordPending, written, nil) // the detached process delivers
	if err := a.detach(cfg, ev); err != nil {
		logger.Error("could not start deferred discovery; discovering inline", "error", err)
		a.complete(ctx, cfg, logger, ev, a.discover(ctx, cfg, logger, ev.Target(), nil))
		a.deliverLater(cfg, logger)
		return
	}
	logger.Info("deferred discovery started in a detached process")
}

// deliverLater starts a delivery process for what the spool holds, when
// reporters are configured.
func (a *Agent) deliverLater(cfg *config.Config, logger *slog.Logger) {
	if !cfg.Reporting.Enabled() {
		return
	}
	if err := a.startDelivery(cfg); err != nil {
		logger.Error("could not start the delivery process; a later run delivers the records", "error", err)
	}
}

// detach hands cfg and the first record to a detached completion process.
func (a *Agent) detach(cfg *config.Config, ev *record.Event) error {
	job, err := json.Marshal(deferredJob{Config: *cfg, Event: ev})
	if err != nil {
		return err
	}
	detach := a.Detach
	if detach == nil {
		detach = DetachSelf
	}
	return detach(job, a.Environ)
}

// readJob decodes the job a detached process gets on its stdin into v;
// empty says the pipe was closed without one.
func readJob(r io.Reader, v any) (empty bool, err error) {
	b, err := io.ReadAll(io.LimitReader(r, maxJobBytes+1))
	switch {
	case err != nil:
		return false, fmt.Errorf("reading the job: %w", err)
	case len(b) == 0:
		return true, errors.New("no job")
	case len(b) > maxJobBytes:
		return false, fmt.Errorf("job over %d bytes", maxJobBytes)
	}
	return false, json.Unmarshal(b, v)
}

// finishDeferred is the detached process: read the job, run the chain,
// append the second record. Its stdin is the job pipe; stdout and stderr go
// nowhere, so everything it has to say goes to the operational log.
func (a *Agent) finishDeferred(ctx context.Context) int {
	var job deferredJob
	_, err := readJob(a.Stdin, &job)
	if err == nil && (job.Event == nil || job.Event.EventID == "" || job.Config.LogDir == "") {
		err = errors.New("job without an event, event id or log directory")
	}
	if err != nil {
		// Someone ran the hidden subcommand by hand, or the agent that
		// spawned us died mid-write: nothing to record.
		a.errorf("%s: %v", DeferredSubcommand, err)
		return ExitGenericError
	}
	cfg := job.Config
	oplog, logErr := record.OpenOpLog(cfg.LogDir, cfg.Verbose, a.Stderr)
	defer oplog.Close()
	logger := oplog.Logger.With("action", job.Event.Action, "event_id", job.Event.EventID,
		"target", job.Event.TargetNode, "deferred", true)
	if logErr != nil {
		logger.Error("operational log not writable", "error", logErr)
	}
	ev := job.Event
	// A partial record's finished attempts stand; only the pending run.
	var known []discovery.Attempt
	if ev.Discovery.State == discovery.StatePartial {
		known = ev.Discovery.Attempts
	}
	// The target is checked again: it came through a pipe.
	a.complete(ctx, &cfg, logger, ev, a.discover(ctx, &cfg, logger, ev.Target(), known))
	a.deliver(ctx, &cfg, logger) // already detached: both records go out from here
	return ExitOK
}

// complete appends the second record of ev with the chain's final report.
func (a *Agent) complete(ctx context.Context, cfg *config.Config, logger *slog.Logger, ev *record.Event, rep discovery.Report) {
	rep.State = StateFailed
	for _, at := range rep.Attempts {
		if at.Outcome == discovery.OutcomeFound || at.Outcome == discovery.OutcomeEmpty {
			rep.State = StateComplete
		}
	}
	ev.SetDiscovery(rep)
	written := a.write(cfg, logger, ev)
	a.afterRecord(ctx, cfg, logger, ev, recordCompletion, written, nil)
}

// DetachSelf re-executes this binary (/proc/self/exe, which stays valid
// even if the file was replaced by an upgrade) with DeferredSubcommand in a
// new session: no controlling terminal, its own process group, stdout and
// stderr on /dev/null, and job on a pipe as stdin. It does not wait: the
// child is reparented to init when the agent exits.
func DetachSelf(job []byte, environ []string) error {
	w, err := spawnSelf(DeferredSubcommand, environ)
	if err != nil {
		return err
	}
	defer w.Close()
	if _, err := w.Write(job); err != nil {
		return fmt.Errorf("handing the job to the detached process: %w", err)
	}
	return nil
}

// spawnSelf starts this binary with hidden subcommand sub in a new session
// and returns the write end of its stdin: the child waits there for its
// job, so it can be started before the job exists (the delivery process is
// started while discovery runs, off the time fenced waits).
//
// A test binary is never re-executed: it does not know the hidden
// subcommands, so the child would run every test again, each detaching
// again. Tests set Agent.Detach and Agent.SpawnDelivery; without them the
// callers take their inline fallbacks.
func spawnSelf(sub string, environ []string) (*os.File, error) {
	if testing.Testing() {
		return nil, errors.New("a test binary does not re-execute itself (" + sub + "): the test sets Agent.Detach or Agent.SpawnDelivery")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	defer devnull.Close()
	cmd := exec.Command("/proc/self/exe", sub)
	cmd.Args[0] = "fence_gfs2_recorder"
	cmd.Env = environ
	cmd.Dir = "/"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, devnull, devnull
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, err
	}
	_ = cmd.Process.Release()
	// The job is a few KiB and fits the pipe buffer; the deadline only
	// matters if a huge configuration meets a child that never reads.
	_ = w.SetWriteDeadline(time.Now().Add(2 * time.Second))
	return w, nil
}
