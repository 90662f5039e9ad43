package storagefence

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// MaxTimeout bounds a wait. It is also the floor of the stale-request
// cleanup: no agent of this protocol waits longer, so an older request has
// no agent left waiting for it.
const MaxTimeout = 5 * time.Minute

// Params are the inputs of one off or reboot.
type Params struct {
	RequestDir, ResponseDir string
	Target, Action          string
	RecorderNode            string
	// Hostnames are this host's names; a target equal to one is refused.
	Hostnames     []string
	Timeout       time.Duration
	Poll          time.Duration
	CleanupMaxAge time.Duration
	// Now gives local time for the request timestamp and file ages.
	Now func() time.Time
	// Published runs right after the request is in place, while nnf-sos
	// works: discovery starts there.
	Published func()
	// Logf receives what is worth an operational log line.
	Logf func(msg string, args ...any)
}

// Record is the storage_fence object of the fence record.
type Record struct {
	RequestID       string   `json:"request_id,omitempty"`
	RequestFile     string   `json:"request_file,omitempty"`
	ResponseFile    string   `json:"response_file,omitempty"`
	Success         *bool    `json:"success,omitempty"`
	Message         string   `json:"message,omitempty"`
	ActionPerformed string   `json:"action_performed,omitempty"`
	Status          string   `json:"status,omitempty"`
	WaitMS          float64  `json:"wait_ms"`
	Outcome         Outcome  `json:"outcome"`
	Error           string   `json:"error,omitempty"`
	Withdrawn       bool     `json:"request_withdrawn,omitempty"`
	CleanedUp       []string `json:"stale_requests_removed,omitempty"`
}

// ExitOK says whether Pacemaker may consider the target fenced.
func (r *Record) ExitOK() bool { return r.Outcome == OutcomeFenced }

// Fence publishes the request, then waits for nnf-sos's answer. The request
// is withdrawn when the fence does not succeed. It never panics on bad input
// and always returns a record.
func Fence(ctx context.Context, p Params) Record {
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Logf == nil {
		p.Logf = func(string, ...any) {}
	}
	rec := Record{}
	fail := func(o Outcome, err error) Record {
		rec.Outcome, rec.Error = o, err.Error()
		return rec
	}
	if err := CheckTarget(p.Target, p.Hostnames...); err != nil {
		return fail(OutcomeRefused, fmt.Errorf("target refused: %w", err))
	}
	if err := EnsureDirs(p.RequestDir, p.ResponseDir); err != nil {
		return fail(OutcomeError, err)
	}
	if removed, err := Cleanup(p.RequestDir, p.CleanupMaxAge, MaxTimeout, p.Now()); len(removed) > 0 || err != nil {
		rec.CleanedUp = removed
		if err != nil {
			p.Logf("stale request cleanup", "error", err)
		}
	}
	req, err := NewRequest(p.Target, p.Action, p.RecorderNode, p.Now())
	if err != nil {
		return fail(OutcomeError, err)
	}
	rec.RequestID = req.RequestID
	timeout := min(max(p.Timeout, time.Millisecond), MaxTimeout)
	w, err := NewWaiter(p.ResponseDir)
	if err != nil {
		return fail(OutcomeError, err)
	}
	defer w.Close()
	start := time.Now()
	path, err := Publish(p.RequestDir, req)
	if path == "" {
		return fail(OutcomeError, err)
	}
	rec.RequestFile = path
	if err != nil {
		p.Logf("request published without directory fsync", "error", err)
	}
	if p.Published != nil {
		p.Published()
	}
	res := w.Wait(ctx, req.Basename(), WaitOptions{Deadline: start.Add(timeout), Poll: p.Poll})
	rec.WaitMS = float64(res.Wait.Microseconds()) / 1000
	rec.Outcome, rec.Success = res.Outcome, res.Success
	rec.Message, rec.ActionPerformed, rec.Status = res.Message, res.ActionPerformed, res.Status
	if res.Answered {
		rec.ResponseFile = filepath.Join(w.dir, req.Basename())
	}
	if res.Err != nil {
		rec.Error = res.Err.Error()
	}
	if rec.Outcome != OutcomeFenced {
		gone, err := Withdraw(path)
		rec.Withdrawn = gone
		if err != nil {
			rec.Error = strings.TrimPrefix(rec.Error+"; withdraw request: "+err.Error(), "; ")
		}
	}
	return rec
}
