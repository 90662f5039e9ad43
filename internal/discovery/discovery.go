// Package discovery runs the ordered chain of GFS2 discovery strategies for one
// fence event and reports every attempt. It knows nothing about WebAssembly: a
// Strategy is anything that can answer "which GFS2 filesystems does node X use",
// and a Source hands strategies out lazily so that a strategy the chain never
// reaches is never compiled.
package discovery

import (
	"context"
	"errors"
	"time"
)

// Sentinels written into gfs2_filesystems when no strategy names a filesystem.
// They are part of the record format the reference agent established.
const (
	NoneDetected      = "none-detected"
	DiscoveryDisabled = "discovery-disabled"
	// Pending is gfs2_filesystems of a first record written before any
	// strategy answered (deferred, or a partial record without an answer):
	// a reader that ignores discovery.state still sees it is no answer.
	Pending = "discovery-pending"
)

// Outcome says how one strategy attempt ended. The values are stable strings
// because they are written into the audit trail and grepped by operators.
type Outcome string

const (
	OutcomeFound         Outcome = "found"          // answered with at least one filesystem
	OutcomeEmpty         Outcome = "empty"          // ran fine, node uses no GFS2 filesystem it can see
	OutcomeError         Outcome = "error"          // the strategy reported an error (command failed, bad data)
	OutcomeTimeout       Outcome = "timeout"        // its own timeout or the total budget ran out
	OutcomeDenied        Outcome = "denied"         // it tried to run a command it is not allowed to run
	OutcomeCrashed       Outcome = "crashed"        // guest trap: panic, out of memory, Go runtime fatal error
	OutcomeLoadError     Outcome = "load-error"     // module missing, corrupt, wrong ABI, refused by permission checks
	OutcomeSkipped       Outcome = "skipped"        // not run: an earlier strategy answered or the budget was spent
	OutcomeInvalidTarget Outcome = "invalid-target" // target name not safe to pass to any command; nothing was run
)

// HostCall is one command a strategy ran through the host, kept for the
// attempt record and for `plugins run` traces.
type HostCall struct {
	Command    string   `json:"command"`              // logical name, e.g. "kubectl"
	Args       []string `json:"args,omitempty"`       // arguments the guest passed (after the fixed leading args)
	ExitCode   int      `json:"exit_code"`            // -1 when the command never started
	DurationMS float64  `json:"duration_ms"`          //
	TimedOut   bool     `json:"timed_out,omitempty"`  //
	Denied     bool     `json:"denied,omitempty"`     // not in the strategy's allow-list
	Truncated  bool     `json:"truncated,omitempty"`  // stdout or stderr hit the output cap
	HeadStart  bool     `json:"head_start,omitempty"` // started before the strategy asked, while its module loaded
	Error      string   `json:"error,omitempty"`      // start failure, denial reason
	Stderr     string   `json:"stderr,omitempty"`     // first bytes of stderr when the command failed
}

// Attempt is one strategy's run inside the chain.
type Attempt struct {
	Strategy    string         `json:"strategy"`
	Source      string         `json:"source,omitempty"` // "builtin" or the .wasm path
	Outcome     Outcome        `json:"outcome"`
	DurationMS  float64        `json:"duration_ms"`
	Error       string         `json:"error,omitempty"`
	Filesystems []string       `json:"filesystems,omitempty"`
	Details     map[string]any `json:"details,omitempty"`
	Calls       []HostCall     `json:"calls,omitempty"`
	// Hedge: started while an earlier strategy was still running.
	Hedge bool      `json:"hedge,omitempty"`
	Logs  []LogLine `json:"-"` // guest log lines; go to the operational log, not the record
}

// LogLine is one line a guest logged through the host.
type LogLine struct {
	Level string
	Msg   string
}

// Report is the discovery section of a fence record.
type Report struct {
	Enabled bool `json:"enabled"`
	// State is "partial" when the fence wait ended first, and "pending",
	// "complete" or "failed" in the records of a detached completion.
	State      string  `json:"state,omitempty"`
	Strategy   string  `json:"strategy,omitempty"` // the winning strategy, if any
	DurationMS float64 `json:"duration_ms"`
	// HedgesStarted counts strategies started while an earlier one was
	// still running (Options.HedgeAfter); 0 in the common case.
	HedgesStarted int `json:"hedges_started"`
	// Pending names, in order, the strategies ranked before the answer
	// (or all of them, with no answer) that had not finished when a partial
	// record was taken: the completion record runs them.
	Pending     []string  `json:"pending,omitempty"`
	Attempts    []Attempt `json:"attempts"`
	Filesystems []string  `json:"-"` // what goes into gfs2_filesystems (sentinel included)
}

// Strategy answers for one target. Implementations apply their own per-call
// timeout; ctx carries the chain's total budget. Discover never panics and
// always fills Outcome.
type Strategy interface {
	Discover(ctx context.Context, t Target) Attempt
}

// Source resolves a strategy name to a Strategy, compiling or loading it only
// now. A load failure is reported as an Attempt with OutcomeLoadError.
type Source interface {
	Strategy(ctx context.Context, name string) (Strategy, error)
}

// Preparer is a Source that can start work for a target before the chain
// asks for its first strategy (the wasm host starts the command the first
// strategy ran last time while its module loads). Run calls Prepare once,
// with the chain's context, so whatever it starts ends with the chain.
type Preparer interface {
	Prepare(ctx context.Context, order []string, t Target)
}

// ErrUnknownStrategy is returned by a Source for a name it cannot resolve.
var ErrUnknownStrategy = errors.New("unknown strategy")

// Disabled is the report for a record made with discovery switched off.
func Disabled() Report {
	return Report{Enabled: false, Attempts: []Attempt{}, Filesystems: []string{DiscoveryDisabled}}
}

// Options shape one run of the chain.
type Options struct {
	// Budget bounds the whole chain, counted from Start; 0: no bound but ctx.
	Budget time.Duration
	// HedgeAfter starts the next strategy when every running one has been
	// running this long without answering; 0 runs one strategy at a time.
	HedgeAfter time.Duration
	// Known are attempts an earlier process finished (a partial record):
	// they are kept, not run again. Pending and skipped ones are ignored.
	Known []Attempt
}

// Run asks the strategies in order and returns the answer of the first one
// that names at least one filesystem; strategies after it are listed as
// skipped so the record shows the whole configured chain. When the target
// is not Discoverable nothing is run at all.
func Run(ctx context.Context, src Source, order []string, t Target, opts Options) Report {
	c := Start(ctx, src, order, t, opts)
	defer c.Stop()
	return c.Report()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
