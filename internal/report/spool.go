// Package report delivers durable fence records to reporters at least once,
// without ever delaying a fence. The agent only drops the record into the
// spool (one small file, no fsync) and starts a detached process; that
// process drains the spool under a lock: it fans each record out to one
// queue per reporter, hands queued records to the reporter oldest first,
// removes what was delivered, and after a failure leaves the rest for a
// later run with a bounded, doubling backoff. Each queue is bounded: the
// oldest record is dropped, with an error in the operational log (the
// audit trail is never touched), to make room.
//
// Layout under the spool directory:
//
//	incoming/<key>.json    records not yet fanned out (written by the agent)
//	<reporter>/<key>.json  one per record the reporter has not yet taken
//	<reporter>/state.json  its consecutive failures, next attempt, last error
//	.lock                  held by the one process draining
//
// <key> is the enqueue time in nanoseconds (20 digits, so names sort by
// time) and the record's event_id, with "-2" for a completion record.
package report

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Modes of what the spool creates: records name nodes and filesystems.
const (
	dirMode  os.FileMode = 0o750
	fileMode os.FileMode = 0o640
)

const (
	incomingDir = "incoming"
	stateFile   = "state.json"
	lockFile    = ".lock"
	entryExt    = ".json"
)

// Spool is the spool directory (reporting.spool_dir).
type Spool struct{ Dir string }

// Enqueue drops record (one JSON object) into the spool for every
// reporter. It is the only part of reporting on the fence path: one file
// written and renamed into place, no fsync (the drain makes it durable; the
// record itself is already durable in the audit trail).
func (s Spool) Enqueue(record []byte, eventID string, second bool, now time.Time) error {
	if strings.ContainsAny(eventID, "/\x00") || eventID == "" {
		return fmt.Errorf("event id %q cannot name a spool entry", eventID)
	}
	dir := filepath.Join(s.Dir, incomingDir)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	name := entryName(now, eventID, second)
	tmp := filepath.Join(dir, "."+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	_, werr := f.Write(record)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("spool: writing %s: %w", tmp, err)
	}
	// A drain lists only complete entries: the rename publishes it whole.
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

func entryName(now time.Time, eventID string, second bool) string {
	name := fmt.Sprintf("%020d-%s", now.UnixNano(), eventID)
	if second {
		name += "-2"
	}
	return name + entryExt
}

// entryTime is when an entry was queued, from its name.
func entryTime(name string) (time.Time, bool) {
	i := strings.IndexByte(name, '-')
	if i <= 0 {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(name[:i], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// entryEventID is the event_id part of an entry's name.
func entryEventID(name string) string {
	name = strings.TrimSuffix(strings.TrimSuffix(name, entryExt), "-2")
	if i := strings.IndexByte(name, '-'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// entries lists dir's complete entries, oldest first.
func entries(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range des {
		n := de.Name()
		if de.Type().IsRegular() && !strings.HasPrefix(n, ".") && strings.HasSuffix(n, entryExt) && n != stateFile {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Backlog is what one reporter has not yet taken.
type Backlog struct {
	Reporter  string
	Entries   int       // records waiting (incoming ones count for every reporter)
	Oldest    time.Time // when the oldest was queued; zero when none
	Failures  int       // consecutive failed deliveries
	NextTry   time.Time // no delivery before this (backoff); zero when none
	LastError string
}

// Backlogs reports the backlog of each reporter in order.
func (s Spool) Backlogs(order []string) ([]Backlog, error) {
	incoming, err := entries(filepath.Join(s.Dir, incomingDir))
	if err != nil {
		return nil, err
	}
	out := make([]Backlog, 0, len(order))
	for _, name := range order {
		b := Backlog{Reporter: name}
		queued, err := entries(filepath.Join(s.Dir, name))
		if err != nil {
			return nil, err
		}
		all := append(queued, incoming...)
		b.Entries = len(all)
		for _, e := range all {
			if t, ok := entryTime(e); ok && (b.Oldest.IsZero() || t.Before(b.Oldest)) {
				b.Oldest = t
			}
		}
		st, err := readState(filepath.Join(s.Dir, name))
		if err != nil {
			return nil, err
		}
		b.Failures, b.NextTry, b.LastError = st.Failures, st.NextTry, st.LastError
		out = append(out, b)
	}
	return out, nil
}

// CheckBacklog is the monitor's check: an error naming the first reporter
// whose oldest undelivered record is older than limit.
func (s Spool) CheckBacklog(order []string, limit time.Duration, now time.Time) error {
	bs, err := s.Backlogs(order)
	if err != nil {
		return fmt.Errorf("reading the spool %s: %w", s.Dir, err)
	}
	for _, b := range bs {
		if b.Entries > 0 && now.Sub(b.Oldest) > limit {
			msg := fmt.Sprintf("reporter %s has %d undelivered records, the oldest queued %s ago (limit %s)",
				b.Reporter, b.Entries, now.Sub(b.Oldest).Round(time.Second), limit)
			if b.LastError != "" {
				msg += "; last error: " + b.LastError
			}
			return errors.New(msg)
		}
	}
	return nil
}
