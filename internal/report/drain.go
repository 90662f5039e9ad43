package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/flock"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fsync"
)

// Deliverer hands one record to one reporter (host.Reporters in the
// agent). nil means delivered.
type Deliverer interface {
	Report(ctx context.Context, reporter string, record []byte) error
}

// Options of one drain.
type Options struct {
	Order      []string // reporters, in reporting.order
	MaxEntries int      // per reporter; the oldest is dropped beyond it
	BackoffMin time.Duration
	BackoffMax time.Duration
	// MaxAttempts drops a record that failed this many times in a row at
	// the head of its queue, so one record a reporter always refuses
	// cannot block the records behind it. 0: DefaultMaxAttempts.
	MaxAttempts int
	Now         func() time.Time
	Logger      *slog.Logger // the operational log
	// OnOutcome, when set, is told each delivery outcome (metrics).
	OnOutcome func(reporter, outcome string)
}

// DefaultMaxAttempts: with the default backoff (10 s doubling to 30 min)
// a record is retried for about five hours before it is dropped.
const DefaultMaxAttempts = 16

// Delivery outcomes (Options.OnOutcome, metrics).
const (
	OutcomeDelivered = "delivered"
	OutcomeFailed    = "failed"
	OutcomeDropped   = "dropped"
)

// LockWait bounds how long a drain waits for another one to finish: the
// waiter is detached, so waiting costs no fence anything.
const LockWait = 2 * time.Minute

// Result counts what one drain did.
type Result struct {
	Delivered, Failed, Dropped int
}

// state is one reporter's state.json.
type state struct {
	Failures     int       `json:"failures"`
	NextTry      time.Time `json:"next_try"`
	LastError    string    `json:"last_error,omitempty"`
	Head         string    `json:"head,omitempty"` // the entry that failed last
	HeadAttempts int       `json:"head_attempts,omitempty"`
}

func readState(dir string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, nil // a torn state only resets the backoff
	}
	return st, nil
}

func writeState(dir string, st state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+stateFile)
	if err := os.WriteFile(tmp, b, fileMode); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, stateFile))
}

// backoff is the wait after the n-th consecutive failure: min, doubling,
// at most max.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// Drain delivers what the spool holds, under the spool lock, until nothing
// is due. Errors of one reporter never stop the others.
func (s Spool) Drain(ctx context.Context, d Deliverer, o Options) (Result, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	var res Result
	if err := os.MkdirAll(s.Dir, dirMode); err != nil {
		return res, fmt.Errorf("spool: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(s.Dir, lockFile), os.O_RDONLY|os.O_CREATE, fileMode)
	if err != nil {
		return res, fmt.Errorf("spool: %w", err)
	}
	defer lock.Close()
	if err := flockWait(ctx, lock, LockWait); err != nil {
		return res, fmt.Errorf("spool: another delivery holds %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	// Records queued while this drain ran are taken in the next round, so
	// an agent whose own drain found the lock held loses nothing.
	for round := 0; round < 3; round++ {
		n, err := s.fanOut(o)
		if err != nil {
			return res, err
		}
		for _, name := range o.Order {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			s.drainOne(ctx, d, o, name, &res)
		}
		if n == 0 {
			break
		}
	}
	return res, nil
}

// fanOut links each incoming record into every reporter's queue, makes the
// queues durable, then removes it from incoming. It returns how many
// records it moved.
func (s Spool) fanOut(o Options) (int, error) {
	in := filepath.Join(s.Dir, incomingDir)
	names, err := entries(in)
	if err != nil || len(names) == 0 {
		return 0, err
	}
	for _, r := range o.Order {
		if err := os.MkdirAll(filepath.Join(s.Dir, r), dirMode); err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
	}
	for _, n := range names {
		src := filepath.Join(in, n)
		if err := fsync.Path(src); err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
		for _, r := range o.Order {
			// Entries are never rewritten, so one inode can sit in every
			// queue; a hard link is atomic and copies nothing.
			if err := os.Link(src, filepath.Join(s.Dir, r, n)); err != nil && !errors.Is(err, os.ErrExist) {
				return 0, fmt.Errorf("spool: %w", err)
			}
		}
	}
	for _, r := range o.Order {
		if err := fsync.Path(filepath.Join(s.Dir, r)); err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
	}
	for _, n := range names {
		if err := os.Remove(filepath.Join(in, n)); err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
	}
	return len(names), fsync.Path(in)
}

// drainOne bounds reporter's queue, then delivers its records oldest first
// until one fails (the rest wait for the backoff).
func (s Spool) drainOne(ctx context.Context, d Deliverer, o Options, reporter string, res *Result) {
	dir := filepath.Join(s.Dir, reporter)
	logger := o.Logger.With("reporter", reporter)
	names, err := entries(dir)
	if err != nil {
		logger.Error("reporter spool unreadable", "dir", dir, "error", err)
		return
	}
	outcome := func(what string) {
		if o.OnOutcome != nil {
			o.OnOutcome(reporter, what)
		}
	}
	drop := func(n, why string) {
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			logger.Error("could not drop a spooled record", "entry", n, "error", err)
			return
		}
		res.Dropped++
		outcome(OutcomeDropped)
		logger.Error("undelivered record dropped from the spool: "+why, "event_id", entryEventID(n), "entry", n)
	}
	if o.MaxEntries > 0 && len(names) > o.MaxEntries {
		for _, n := range names[:len(names)-o.MaxEntries] {
			drop(n, fmt.Sprintf("the reporter's spool holds at most %d records (reporting.max_spool)", o.MaxEntries))
		}
		names = names[len(names)-o.MaxEntries:]
	}
	if len(names) == 0 {
		return
	}
	st, err := readState(dir)
	if err != nil {
		logger.Error("reporter state unreadable; retrying now", "error", err)
	}
	now := o.Now()
	if now.Before(st.NextTry) {
		logger.Debug("reporter in backoff", "next_try", st.NextTry, "backlog", len(names))
		return
	}
	for _, n := range names {
		if ctx.Err() != nil {
			return
		}
		rec, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			drop(n, "unreadable: "+err.Error())
			continue
		}
		if derr := d.Report(ctx, reporter, rec); derr != nil {
			res.Failed++
			outcome(OutcomeFailed)
			if st.Head != n {
				st.Head, st.HeadAttempts = n, 0
			}
			st.HeadAttempts++
			st.Failures++
			st.LastError = derr.Error()
			wait := backoff(st.Failures, o.BackoffMin, o.BackoffMax)
			st.NextTry = o.Now().Add(wait)
			logger.Error("report not delivered; kept in the spool", "event_id", entryEventID(n),
				"error", derr, "attempt", st.HeadAttempts, "retry_in", wait, "backlog", len(names))
			if st.HeadAttempts >= o.MaxAttempts {
				drop(n, fmt.Sprintf("it failed %d times in a row", st.HeadAttempts))
				st.Head, st.HeadAttempts = "", 0
			}
			if err := writeState(dir, st); err != nil {
				logger.Error("could not save the reporter's backoff", "error", err)
			}
			return
		}
		if err := os.Remove(filepath.Join(dir, n)); err != nil {
			logger.Error("delivered record not removed from the spool; it will be delivered again", "entry", n, "error", err)
		}
		res.Delivered++
		outcome(OutcomeDelivered)
		logger.Debug("report delivered", "event_id", entryEventID(n))
		if st.Failures > 0 || st.Head != "" {
			st = state{}
			if err := writeState(dir, st); err != nil {
				logger.Error("could not reset the reporter's backoff", "error", err)
			}
		}
	}
}

func flockWait(ctx context.Context, f *os.File, wait time.Duration) error {
	err := flock.Wait(ctx, f, wait, 100*time.Millisecond)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("still locked after %s", wait)
	}
	return err
}
