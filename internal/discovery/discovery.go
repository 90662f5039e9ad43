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

// Target is what the chain is asked about.
type Target struct {
	Node   string // target node as Pacemaker named it (already validated by the caller unless Invalid)
	Action string // on, off, reboot, or "run" for the plugins run admin command
}

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
	Logs        []LogLine      `json:"-"` // guest log lines; go to the operational log, not the record
}

// LogLine is one line a guest logged through the host.
type LogLine struct {
	Level string
	Msg   string
}

// Report is the discovery section of a fence record.
type Report struct {
	Enabled     bool      `json:"enabled"`
	State       string    `json:"state,omitempty"`    // "pending", "complete" or "failed" in deferred mode
	Strategy    string    `json:"strategy,omitempty"` // the winning strategy, if any
	DurationMS  float64   `json:"duration_ms"`
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

// Run asks the strategies in order until one names at least one filesystem.
// Strategies after the winner are listed as skipped so the record shows the
// whole configured chain. When validNode is false nothing is run at all: the
// target name is not safe to hand to a command.
func Run(ctx context.Context, src Source, order []string, t Target, validNode bool, budget time.Duration) Report {
	start := time.Now()
	rep := Report{Enabled: true, Attempts: make([]Attempt, 0, len(order))}
	// The chain's own context: cancelled when Run returns, so what a
	// Preparer started never outlives the chain.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if budget > 0 {
		ctx, cancel = context.WithTimeout(ctx, budget)
		defer cancel()
	}
	if p, ok := src.(Preparer); ok && validNode {
		p.Prepare(ctx, order, t)
	}
	for _, name := range order {
		switch {
		case !validNode:
			rep.Attempts = append(rep.Attempts, Attempt{Strategy: name, Outcome: OutcomeInvalidTarget,
				Error: "target node name is not a plausible node name; no command was run"})
			continue
		case rep.Strategy != "":
			rep.Attempts = append(rep.Attempts, Attempt{Strategy: name, Outcome: OutcomeSkipped, Error: "an earlier strategy answered"})
			continue
		case ctx.Err() != nil:
			rep.Attempts = append(rep.Attempts, Attempt{Strategy: name, Outcome: OutcomeSkipped, Error: "discovery budget spent"})
			continue
		}
		rep.Attempts = append(rep.Attempts, runOne(ctx, src, name, t))
		if a := rep.Attempts[len(rep.Attempts)-1]; a.Outcome == OutcomeFound && len(a.Filesystems) > 0 {
			rep.Strategy = name
			rep.Filesystems = append([]string(nil), a.Filesystems...)
		}
	}
	if len(rep.Filesystems) == 0 {
		rep.Filesystems = []string{NoneDetected}
	}
	rep.DurationMS = ms(time.Since(start))
	return rep
}

func runOne(ctx context.Context, src Source, name string, t Target) Attempt {
	start := time.Now()
	s, err := src.Strategy(ctx, name)
	if err != nil {
		return Attempt{Strategy: name, Outcome: OutcomeLoadError, Error: err.Error(), DurationMS: ms(time.Since(start))}
	}
	a := s.Discover(ctx, t)
	a.Strategy = name
	if a.Outcome == "" {
		a.Outcome = OutcomeError
		a.Error = "strategy returned no outcome"
	}
	if a.Outcome == OutcomeFound && len(a.Filesystems) == 0 {
		a.Outcome = OutcomeEmpty
	}
	a.DurationMS = ms(time.Since(start))
	return a
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
