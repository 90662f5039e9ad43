package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sink is an in-process reporter: it keeps what it was given and refuses
// while down is set.
type sink struct {
	mu   sync.Mutex
	down map[string]bool
	got  map[string][]string
}

func newSink() *sink { return &sink{down: map[string]bool{}, got: map[string][]string{}} }

func (s *sink) Report(_ context.Context, reporter string, record []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down[reporter] {
		return errors.New(reporter + " is down")
	}
	s.got[reporter] = append(s.got[reporter], string(record))
	return nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func opts(c *clock, order ...string) Options {
	return Options{Order: order, MaxEntries: 100, BackoffMin: 10 * time.Second, BackoffMax: time.Minute, Now: c.now}
}

func enqueue(t *testing.T, s Spool, c *clock, n int) {
	for i := range n {
		c.t = c.t.Add(time.Millisecond)
		require.NoError(t, s.Enqueue([]byte(fmt.Sprintf(`{"n":%d}`, i)), fmt.Sprintf("id-%d", i), false, c.t))
	}
}

func TestDeliversInOrderToEveryReporter(t *testing.T) {
	s, c, d := Spool{Dir: t.TempDir()}, &clock{time.Unix(1e9, 0)}, newSink()
	enqueue(t, s, c, 3)
	res, err := s.Drain(context.Background(), d, opts(c, "a", "b"))
	require.NoError(t, err)
	assert.Equal(t, Result{Delivered: 6}, res)
	for _, r := range []string{"a", "b"} {
		assert.Equal(t, []string{`{"n":0}`, `{"n":1}`, `{"n":2}`}, d.got[r])
	}
	bs, err := s.Backlogs([]string{"a", "b"})
	require.NoError(t, err)
	assert.Zero(t, bs[0].Entries)
	assert.Zero(t, bs[1].Entries)
}

// A failing reporter keeps its records, backs off (doubling, bounded),
// does not hold up the other reporter, and delivers each record exactly
// once when it is back.
func TestFailureBacksOffAndRetriesExactlyOnce(t *testing.T) {
	s, c, d := Spool{Dir: t.TempDir()}, &clock{time.Unix(1e9, 0)}, newSink()
	enqueue(t, s, c, 2)
	d.down["a"] = true
	res, err := s.Drain(context.Background(), d, opts(c, "a", "b"))
	require.NoError(t, err)
	assert.Equal(t, Result{Delivered: 2, Failed: 1}, res, "a fails once and stops; b delivers both")

	bs, err := s.Backlogs([]string{"a"})
	require.NoError(t, err)
	assert.Equal(t, 2, bs[0].Entries)
	assert.True(t, c.t.Add(10*time.Second).Equal(bs[0].NextTry), "next try %s", bs[0].NextTry)
	assert.Equal(t, "a is down", bs[0].LastError)

	d.down["a"] = false
	c.t = c.t.Add(5 * time.Second)
	res, _ = s.Drain(context.Background(), d, opts(c, "a", "b"))
	assert.Equal(t, Result{}, res, "still in backoff")

	c.t = c.t.Add(5 * time.Second)
	res, _ = s.Drain(context.Background(), d, opts(c, "a", "b"))
	assert.Equal(t, Result{Delivered: 2}, res)
	assert.Equal(t, []string{`{"n":0}`, `{"n":1}`}, d.got["a"])
	assert.Len(t, d.got["b"], 2, "b got nothing twice")
}

func TestBackoffDoublesWithinBounds(t *testing.T) {
	lo, hi := 10*time.Second, time.Minute
	for n, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 4: time.Minute, 60: time.Minute} {
		assert.Equal(t, want, backoff(n, lo, hi), n)
	}
}

func TestBoundedSpoolDropsTheOldest(t *testing.T) {
	s, c, d := Spool{Dir: t.TempDir()}, &clock{time.Unix(1e9, 0)}, newSink()
	enqueue(t, s, c, 5)
	o := opts(c, "a")
	o.MaxEntries = 2
	var outcomes []string
	o.OnOutcome = func(_, what string) { outcomes = append(outcomes, what) }
	res, err := s.Drain(context.Background(), d, o)
	require.NoError(t, err)
	assert.Equal(t, Result{Delivered: 2, Dropped: 3}, res)
	assert.Equal(t, []string{`{"n":3}`, `{"n":4}`}, d.got["a"])
	assert.Equal(t, []string{OutcomeDropped, OutcomeDropped, OutcomeDropped, OutcomeDelivered, OutcomeDelivered}, outcomes)
}

func TestARecordRefusedForeverIsDroppedAtLast(t *testing.T) {
	s, c, d := Spool{Dir: t.TempDir()}, &clock{time.Unix(1e9, 0)}, newSink()
	enqueue(t, s, c, 1)
	d.down["a"] = true
	o := opts(c, "a")
	o.MaxAttempts = 3
	var res Result
	for range 3 {
		r, err := s.Drain(context.Background(), d, o)
		require.NoError(t, err)
		res.Failed += r.Failed
		res.Dropped += r.Dropped
		c.t = c.t.Add(time.Hour)
	}
	assert.Equal(t, Result{Failed: 3, Dropped: 1}, res)
}

func TestMonitorCheckOnAnOldBacklog(t *testing.T) {
	s, c, d := Spool{Dir: t.TempDir()}, &clock{time.Unix(1e9, 0)}, newSink()
	enqueue(t, s, c, 1)
	require.NoError(t, s.CheckBacklog([]string{"a"}, time.Hour, c.t.Add(time.Minute)), "an incoming record counts, but is young")
	err := s.CheckBacklog([]string{"a"}, time.Hour, c.t.Add(2*time.Hour))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reporter a has 1 undelivered records, the oldest queued 2h0m0s ago (limit 1h0m0s)")
	_, err = s.Drain(context.Background(), d, opts(c, "a"))
	require.NoError(t, err)
	assert.NoError(t, s.CheckBacklog([]string{"a"}, time.Hour, c.t.Add(2*time.Hour)))
}

// Two drains at once deliver each record once: the lock serializes them.
func TestConcurrentDrainsDeliverOnce(t *testing.T) {
	s, c, d := Spool{Dir: t.TempDir()}, &clock{time.Unix(1e9, 0)}, newSink()
	enqueue(t, s, c, 20)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Drain(context.Background(), d, opts(&clock{c.t}, "a"))
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Len(t, d.got["a"], 20)
}

func TestEnqueueRefusesAPathInTheEventID(t *testing.T) {
	s := Spool{Dir: t.TempDir()}
	require.Error(t, s.Enqueue([]byte("{}"), "../x", false, time.Now()))
	require.Error(t, s.Enqueue([]byte("{}"), "", false, time.Now()))
	names, _ := os.ReadDir(filepath.Join(s.Dir, incomingDir))
	assert.Empty(t, names)
}

// The spool's cost on the fence path: one Enqueue per record.
func BenchmarkEnqueue(b *testing.B) {
	s := Spool{Dir: b.TempDir()}
	rec := make([]byte, 1200) // a typical record
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		if err := s.Enqueue(rec, fmt.Sprintf("id-%d", i), false, now.Add(time.Duration(i))); err != nil {
			b.Fatal(err)
		}
	}
}

// The drain's cost per queued record, off the fence path (fan-out, fsyncs,
// delivery to an in-process reporter, removal).
func BenchmarkDrainPerRecord(b *testing.B) {
	s := Spool{Dir: b.TempDir()}
	rec := make([]byte, 1200)
	now := time.Now()
	d := newSink()
	for i := 0; b.Loop(); i++ {
		if err := s.Enqueue(rec, fmt.Sprintf("id-%d", i), false, now.Add(time.Duration(i))); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Drain(context.Background(), d, Options{Order: []string{"a"}, MaxEntries: 10, BackoffMin: time.Second, BackoffMax: time.Second}); err != nil {
			b.Fatal(err)
		}
	}
}
