package storagefence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakesos"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/inotify"
)

// Generous bounds: the machine running the tests may be loaded.
const (
	waitLong  = 20 * time.Second
	pollTests = 2 * time.Second
)

func dirs(t *testing.T) (req, resp string) {
	d := t.TempDir()
	return filepath.Join(d, "requests"), filepath.Join(d, "responses")
}

func params(req, resp, target string) Params {
	return Params{RequestDir: req, ResponseDir: resp, Target: target, Action: "reboot",
		RecorderNode: "rabbit-node-1", Hostnames: []string{"rabbit-node-1.example"},
		Timeout: waitLong, Poll: pollTests, CleanupMaxAge: 300 * time.Second}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

var protoName = regexp.MustCompile(`^(.+)-([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\.json$`)

// SPEC §7 items 11, 12, 13, 16, 17: both response shapes, the request as
// nnf-sos decodes it.
func TestFenceR1AndR2Success(t *testing.T) {
	for _, shape := range []fakesos.Shape{fakesos.R1, fakesos.R2} {
		t.Run(shape.String(), func(t *testing.T) {
			req, resp := dirs(t)
			sos := fakesos.StartT(t, fakesos.Config{RequestDir: req, ResponseDir: resp,
				Behaviour: fakesos.Always(fakesos.Answer{Shape: shape, Success: true})})
			rec := Fence(context.Background(), params(req, resp, "rabbit-compute-3"))
			require.Equal(t, OutcomeFenced, rec.Outcome, rec.Error)
			require.NotNil(t, rec.Success)
			assert.True(t, *rec.Success)
			assert.True(t, rec.ExitOK())
			assert.Equal(t, "off", rec.ActionPerformed)
			assert.NotEmpty(t, rec.Message)
			if shape == fakesos.R2 {
				assert.Equal(t, "success", rec.Status)
			}
			assert.False(t, rec.Withdrawn)

			got := sos.Requests()
			require.Len(t, got, 1)
			r := got[0]
			require.NoError(t, r.Err)
			m := protoName.FindStringSubmatch(r.File)
			require.NotNil(t, m, "request name %q", r.File)
			assert.Equal(t, "rabbit-compute-3", m[1])
			assert.Equal(t, m[2], r.RequestID)
			assert.Equal(t, "rabbit-compute-3", r.TargetNode)
			assert.Equal(t, "reboot", r.Action)
			assert.Equal(t, "rabbit-node-1", r.RecorderNode)
			ts, err := time.Parse(time.RFC3339Nano, r.Timestamp)
			require.NoError(t, err, "timestamp %q", r.Timestamp)
			_, off := time.Now().Zone()
			_, tsOff := ts.Zone()
			assert.Equal(t, off, tsOff, "timestamp keeps the local offset")
			var raw map[string]any
			require.NoError(t, json.Unmarshal(r.Raw, &raw))
			for _, k := range []string{"request_id", "timestamp", "action", "target_node", "recorder_node"} {
				assert.IsType(t, "", raw[k], k)
			}
			assert.Equal(t, filepath.Join(resp, r.File), rec.ResponseFile)
			assert.Equal(t, filepath.Join(req, r.File), rec.RequestFile)
		})
	}
}

// SPEC §7 item 17: only a JSON true fences.
func TestParseResponseStrictSuccess(t *testing.T) {
	for _, tc := range []struct {
		body string
		want Outcome
	}{
		{`{"success":true}`, OutcomeFenced},
		{`{"success": true , "message":"m"}`, OutcomeFenced},
		{`{"success":false}`, OutcomeRefused},
		{`{"success":"false"}`, OutcomeRefused},
		{`{"success":"true"}`, OutcomeRefused},
		{`{"success":1}`, OutcomeRefused},
		{`{"success":null}`, OutcomeRefused},
		{`{"status":"success"}`, OutcomeRefused},
		{`{}`, OutcomeRefused},
		{`[true]`, OutcomeError},
	} {
		r, err := ParseResponse([]byte(tc.body))
		require.NoError(t, err, tc.body)
		assert.Equal(t, tc.want, r.Outcome, tc.body)
		assert.Equal(t, tc.want == OutcomeFenced, r.Success != nil && *r.Success, tc.body)
	}
	for _, partial := range []string{"", "  \n", `{"success":tr`, `{"request_id":"x",`} {
		_, err := ParseResponse([]byte(partial))
		assert.ErrorIs(t, err, ErrIncomplete, "%q", partial)
	}
}

// SPEC §7 item 17 through the wait: failure answers and a string "false".
func TestFenceRefusedAnswers(t *testing.T) {
	req, resp := dirs(t)
	fakesos.StartT(t, fakesos.Config{RequestDir: req, ResponseDir: resp,
		Behaviour: fakesos.PerTarget(map[string]fakesos.Answer{
			"c-fail": {Shape: fakesos.R1, Success: false, Message: "Failed to fence node: could not delete any storage groups. Errors: x"},
		}, fakesos.Answer{Shape: fakesos.R1, Success: true})})
	rec := Fence(context.Background(), params(req, resp, "c-fail"))
	assert.Equal(t, OutcomeRefused, rec.Outcome)
	require.NotNil(t, rec.Success)
	assert.False(t, *rec.Success)
	assert.Contains(t, rec.Message, "Failed to fence node")
	assert.False(t, rec.ExitOK())

	// A responder that writes "false" as a string (nnf-sos never does; a
	// hand-written or foreign file might).
	_, resp2 := dirs(t)
	req2 := filepath.Join(filepath.Dir(resp2), "requests")
	require.NoError(t, EnsureDirs(req2, resp2))
	go answerByHand(t, req2, resp2, `{"success":"false","message":"string"}`)
	p := params(req2, resp2, "c-string")
	rec = Fence(context.Background(), p)
	assert.Equal(t, OutcomeRefused, rec.Outcome)
	assert.Nil(t, rec.Success)
	assert.Contains(t, rec.Error, "not a JSON boolean")
}

// answerByHand answers the first request in req with body, written
// atomically under its basename.
func answerByHand(t *testing.T, req, resp, body string) {
	deadline := time.Now().Add(waitLong)
	for time.Now().Before(deadline) {
		for _, n := range listDir(t, req) {
			if _, _, temp, ok := ParseName(n); ok && !temp {
				tmp := filepath.Join(resp, "."+n+".tmp")
				_ = os.WriteFile(tmp, []byte(body), 0o644)
				_ = os.Rename(tmp, filepath.Join(resp, n))
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// SPEC §7 item 19: an in-place answer read while half written is re-read.
func TestFencePartialResponseIsReRead(t *testing.T) {
	req, resp := dirs(t)
	sos := fakesos.StartT(t, fakesos.Config{RequestDir: req, ResponseDir: resp,
		Behaviour: fakesos.Always(fakesos.Answer{Shape: fakesos.R2, Success: true, Partial: 300 * time.Millisecond})})
	rec := Fence(context.Background(), params(req, resp, "rabbit-compute-4"))
	require.Equal(t, OutcomeFenced, rec.Outcome, rec.Error)
	// The responder starts its pause at the rename, a little before the wait.
	assert.GreaterOrEqual(t, rec.WaitMS, 200.0, "answered only once complete")
	require.Len(t, sos.Responses(), 1)
}

// SPEC §7 items 19 and 22: a response that stays invalid fails at the
// deadline, not at once, and the request is withdrawn.
func TestFenceInvalidResponseFailsAtDeadline(t *testing.T) {
	req, resp := dirs(t)
	require.NoError(t, EnsureDirs(req, resp))
	go answerByHand(t, req, resp, `{"success":tr`)
	p := params(req, resp, "c1")
	p.Timeout = 700 * time.Millisecond
	rec := Fence(context.Background(), p)
	assert.Equal(t, OutcomeTimeout, rec.Outcome)
	assert.Contains(t, rec.Error, "not valid JSON")
	assert.GreaterOrEqual(t, rec.WaitMS, 500.0, "failed at the deadline, not on the first invalid read")
	assert.True(t, rec.Withdrawn)
	assert.Empty(t, listDir(t, req))
}

// SPEC §7 item 18.
func TestFenceOversizeResponse(t *testing.T) {
	req, resp := dirs(t)
	require.NoError(t, EnsureDirs(req, resp))
	big := `{"success":true,"message":"` + strings.Repeat("x", MaxResponseBytes) + `"}`
	go answerByHand(t, req, resp, big)
	rec := Fence(context.Background(), params(req, resp, "c1"))
	assert.Equal(t, OutcomeError, rec.Outcome)
	assert.Contains(t, rec.Error, "exceeds")
	assert.True(t, rec.Withdrawn || len(listDir(t, req)) == 0)
}

// SPEC §7 items 15, 22, 23: silence and an answer under another name both
// time out; the agent's own request is withdrawn, nothing else touched.
func TestFenceTimeoutWithdrawsOwnRequest(t *testing.T) {
	for name, a := range map[string]fakesos.Answer{
		"silent":       {Silent: true},
		"other-answer": {Shape: fakesos.R1, Success: true, As: "rabbit-compute-9-00000000-0000-4000-8000-000000000000.json"},
	} {
		t.Run(name, func(t *testing.T) {
			req, resp := dirs(t)
			fakesos.StartT(t, fakesos.Config{RequestDir: req, ResponseDir: resp, Behaviour: fakesos.Always(a)})
			// Another agent's live request must survive.
			require.NoError(t, EnsureDirs(req, resp))
			other := filepath.Join(req, "rabbit-compute-7-11111111-1111-4111-8111-111111111111.json")
			if name == "silent" {
				require.NoError(t, os.WriteFile(other, []byte(`{}`), 0o644))
			}
			p := params(req, resp, "rabbit-compute-9")
			p.Timeout = 500 * time.Millisecond
			start := time.Now()
			rec := Fence(context.Background(), p)
			assert.Equal(t, OutcomeTimeout, rec.Outcome)
			assert.Less(t, time.Since(start), 15*time.Second)
			// nnf-sos deletes a request it answered, under whatever name.
			assert.Equal(t, name == "silent", rec.Withdrawn)
			_, err := os.Stat(rec.RequestFile)
			assert.ErrorIs(t, err, os.ErrNotExist)
			if name == "silent" {
				assert.FileExists(t, other)
			}
		})
	}
}

// SPEC §7 items 22, 23: SIGTERM (ctx cancelled) ends the wait with an error
// and withdraws the request.
func TestFenceInterruptedWithdraws(t *testing.T) {
	req, resp := dirs(t)
	fakesos.StartT(t, fakesos.Config{RequestDir: req, ResponseDir: resp,
		Behaviour: fakesos.Always(fakesos.Answer{Silent: true})})
	ctx, cancel := context.WithCancelCause(context.Background())
	p := params(req, resp, "c2")
	p.Published = func() { time.AfterFunc(100*time.Millisecond, func() { cancel(errors.New("SIGTERM")) }) }
	rec := Fence(ctx, p)
	assert.Equal(t, OutcomeError, rec.Outcome)
	assert.Contains(t, rec.Error, "SIGTERM")
	assert.True(t, rec.Withdrawn)
	assert.Empty(t, listDir(t, req))
}

// SPEC §7 items 8, 9, 10: the request appears only by a rename from a dot
// temp name not ending in .json, in the same directory; nothing is created
// in the response directory.
func TestPublishAppearsOnlyByRename(t *testing.T) {
	req, resp := dirs(t)
	require.NoError(t, EnsureDirs(req, resp))
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	require.NoError(t, err)
	defer unix.Close(fd)
	_, err = unix.InotifyAddWatch(fd, req, unix.IN_ALL_EVENTS)
	require.NoError(t, err)
	_, err = unix.InotifyAddWatch(fd, resp, unix.IN_ALL_EVENTS)
	require.NoError(t, err)

	r, err := NewRequest("rabbit-compute-1", "off", "rabbit-node-1", time.Now())
	require.NoError(t, err)
	path, err := Publish(req, r)
	require.NoError(t, err)
	final := r.Basename()
	assert.Equal(t, filepath.Join(req, final), path)

	evs := drainInotify(t, fd)
	var sawMovedTo, sawTempCreate bool
	for _, e := range evs {
		switch {
		case e.name == final && e.mask&unix.IN_MOVED_TO != 0:
			sawMovedTo = true
		case e.name == final && e.mask&(unix.IN_CREATE|unix.IN_MODIFY|unix.IN_CLOSE_WRITE) != 0:
			t.Errorf("final name %s got event %#x: not published by rename alone", final, e.mask)
		case e.mask&unix.IN_CREATE != 0:
			sawTempCreate = true
			assert.True(t, strings.HasPrefix(e.name, "."), "temp %q starts with a dot", e.name)
			assert.False(t, strings.HasSuffix(e.name, ".json"), "temp %q must not end in .json", e.name)
			assert.Equal(t, "requests", e.dir, "temp file in the same directory")
		}
		assert.NotEqual(t, "responses", e.dir, "nothing happens in the response directory: %+v", e)
	}
	assert.True(t, sawMovedTo, "IN_MOVED_TO for %s in %v", final, evs)
	assert.True(t, sawTempCreate)
	assert.Equal(t, []string{final}, listDir(t, req))
	body, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, json.Valid(body))
}

type inEvent struct {
	dir, name string
	mask      uint32
}

func drainInotify(t *testing.T, fd int) []inEvent {
	t.Helper()
	var out []inEvent
	buf := make([]byte, 64<<10)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 100)
		if err != nil || n == 0 {
			return out
		}
		m, err := unix.Read(fd, buf)
		require.NoError(t, err)
		for _, ev := range inotify.Decode(buf[:m]) {
			dir := "requests"
			if ev.Wd == 2 {
				dir = "responses"
			}
			out = append(out, inEvent{dir: dir, name: ev.Name, mask: ev.Mask})
		}
	}
}

// SPEC §7 item 14.
func TestCheckTarget(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "a..b", "../x", ".hidden", "a b", "a\tb", "a\nb", "a\x00b", "a\x7fb",
		"rabbit-node-1", "rabbit-node-1.example"} {
		assert.Error(t, CheckTarget(bad, "rabbit-node-1.example"), "%q", bad)
	}
	for _, ok := range []string{"rabbit-compute-1", "compute.example.org", "x", "rabbit-node-10"} {
		assert.NoError(t, CheckTarget(ok, "rabbit-node-1.example"), "%q", ok)
	}
	assert.ErrorIs(t, CheckTarget("rabbit-node-1", "rabbit-node-1.example"), ErrLocalTarget)
	assert.ErrorIs(t, CheckTarget(""), ErrEmptyTarget)
}

// SPEC §7 item 14 through Fence: nothing written for a refused target.
func TestFenceRefusedTargetWritesNothing(t *testing.T) {
	req, resp := dirs(t)
	for _, bad := range []string{"", "../etc", "rabbit-node-1", ".x", "a b"} {
		rec := Fence(context.Background(), params(req, resp, bad))
		assert.Equal(t, OutcomeRefused, rec.Outcome, "%q", bad)
		assert.Contains(t, rec.Error, "target refused")
		assert.Empty(t, listDir(t, req))
		assert.Empty(t, listDir(t, resp))
	}
}

// SPEC §7 item 27: only this protocol's names, only older than the floor.
func TestCleanupOnlyProtocolNamesAndNeverBelowLongestWait(t *testing.T) {
	req, _ := dirs(t)
	require.NoError(t, EnsureDirs(req))
	old := time.Now().Add(-2 * MaxTimeout)
	mid := time.Now().Add(-MaxTimeout / 2)
	files := map[string]time.Time{
		"c1-11111111-1111-4111-8111-111111111111.json":      old, // stale request: removed
		".c1-22222222-2222-4222-8222-222222222222.json.tmp": old, // stale temp: removed
		"c1-33333333-3333-4333-8333-333333333333.json":      mid, // younger than the longest wait: kept
		"notes.txt":   old, // someone else's: kept
		"legacy.json": old, // not our naming: kept
		"c1-NOTAUUID-1111-4111-8111-111111111111.json": old,
	}
	for n, mt := range files {
		p := filepath.Join(req, n)
		require.NoError(t, os.WriteFile(p, []byte("{}"), 0o644))
		require.NoError(t, os.Chtimes(p, mt, mt))
	}
	// CLEANUP_MAX_AGE of 1 s is raised to MaxTimeout.
	removed, err := Cleanup(req, time.Second, MaxTimeout, time.Now())
	require.NoError(t, err)
	sort.Strings(removed)
	assert.Equal(t, []string{filepath.Join(req, ".c1-22222222-2222-4222-8222-222222222222.json.tmp"),
		filepath.Join(req, "c1-11111111-1111-4111-8111-111111111111.json")}, removed)
	assert.ElementsMatch(t, []string{"c1-33333333-3333-4333-8333-333333333333.json", "notes.txt", "legacy.json",
		"c1-NOTAUUID-1111-4111-8111-111111111111.json"}, listDir(t, req))
}

func TestParseName(t *testing.T) {
	tg, id, temp, ok := ParseName("rabbit-compute-1-11111111-1111-4111-8111-111111111111.json")
	assert.True(t, ok)
	assert.False(t, temp)
	assert.Equal(t, "rabbit-compute-1", tg)
	assert.Equal(t, "11111111-1111-4111-8111-111111111111", id)
	tg, _, temp, ok = ParseName(".rabbit-compute-1-11111111-1111-4111-8111-111111111111.json.tmp")
	assert.True(t, ok && temp)
	assert.Equal(t, "rabbit-compute-1", tg)
	for _, bad := range []string{"x.json", "-11111111-1111-4111-8111-111111111111.json", "c-11111111-1111-4111-8111-111111111111.json.tmp",
		"c-11111111-1111-4111-8111-11111111111G.json"} {
		_, _, _, ok := ParseName(bad)
		assert.False(t, ok, bad)
	}
}

// The safety-net poll finds the answer when the watch is gone.
func TestWaitPollSafetyNet(t *testing.T) {
	_, resp := dirs(t)
	require.NoError(t, EnsureDirs(resp))
	w, err := NewWaiter(resp)
	require.NoError(t, err)
	require.NoError(t, w.Close()) // no more inotify events
	name := "c-11111111-1111-4111-8111-111111111111.json"
	time.AfterFunc(50*time.Millisecond, func() {
		_ = os.WriteFile(filepath.Join(resp, name), []byte(`{"success":true}`), 0o644)
	})
	r := w.Wait(context.Background(), name, WaitOptions{Deadline: time.Now().Add(waitLong), Poll: 100 * time.Millisecond})
	assert.Equal(t, OutcomeFenced, r.Outcome, "%v", r.Err)
}

// SPEC §7 item 20: the agent never touches the response directory.
func TestFenceLeavesResponsesAlone(t *testing.T) {
	req, resp := dirs(t)
	require.NoError(t, EnsureDirs(req, resp))
	foreign := filepath.Join(resp, "rabbit-compute-2-44444444-4444-4444-8444-444444444444.json")
	require.NoError(t, os.WriteFile(foreign, []byte(`{"success":true,"target_node":"rabbit-compute-2"}`), 0o644))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(foreign, old, old))
	sos := fakesos.StartT(t, fakesos.Config{RequestDir: req, ResponseDir: resp})
	rec := Fence(context.Background(), params(req, resp, "rabbit-compute-2"))
	require.Equal(t, OutcomeFenced, rec.Outcome)
	fi, err := os.Stat(foreign)
	require.NoError(t, err)
	assert.True(t, fi.ModTime().Equal(old))
	want := []string{filepath.Base(foreign), sos.Responses()[0].File}
	assert.ElementsMatch(t, want, listDir(t, resp))
}

// Sixteen computes fenced at once: sixteen requests, sixteen right answers.
func TestSixteenConcurrentFences(t *testing.T) {
	req, resp := dirs(t)
	byTarget := map[string]fakesos.Answer{}
	for i := range 16 {
		a := fakesos.Answer{Shape: fakesos.Shape(i % 2), Success: i%4 != 3, Delay: time.Duration(i%5) * 20 * time.Millisecond,
			Message: fmt.Sprintf("answer for compute-%d", i)}
		byTarget[fmt.Sprintf("compute-%d", i)] = a
	}
	sos := fakesos.StartT(t, fakesos.Config{RequestDir: req, ResponseDir: resp,
		Behaviour: fakesos.PerTarget(byTarget, fakesos.Answer{Silent: true})})
	var wg sync.WaitGroup
	recs := make([]Record, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs[i] = Fence(context.Background(), params(req, resp, fmt.Sprintf("compute-%d", i)))
		}()
	}
	wg.Wait()
	for i, rec := range recs {
		want := OutcomeFenced
		if i%4 == 3 {
			want = OutcomeRefused
		}
		assert.Equal(t, want, rec.Outcome, "compute-%d: %s", i, rec.Error)
		assert.Equal(t, fmt.Sprintf("answer for compute-%d", i), rec.Message)
		assert.Contains(t, rec.RequestFile, fmt.Sprintf("/compute-%d-", i))
	}
	// The responder, like nnf-sos, may read a request twice when its
	// startup scan races the first events: count distinct files.
	reqs, resps := map[string]bool{}, map[string]bool{}
	for _, r := range sos.Requests() {
		reqs[r.File] = true
	}
	for _, r := range sos.Responses() {
		resps[r.File] = true
	}
	assert.Equal(t, 16, len(reqs))
	assert.Equal(t, 16, len(resps))
}

func TestMarkersAndUnfence(t *testing.T) {
	req, resp := dirs(t)
	sos := fakesos.StartT(t, fakesos.Config{RequestDir: req, ResponseDir: resp,
		Behaviour: fakesos.PerTarget(map[string]fakesos.Answer{"c-bad": {Shape: fakesos.R1, Success: false}},
			fakesos.Answer{Shape: fakesos.R1, Success: true})})
	for _, tg := range []string{"c-a", "c-a", "c-b", "c-bad"} {
		Fence(context.Background(), params(req, resp, tg))
	}
	require.Len(t, sos.Responses(), 4)
	all, err := Markers(resp, "")
	require.NoError(t, err)
	assert.Len(t, all, 3)
	a, err := Markers(resp, "c-a")
	require.NoError(t, err)
	assert.Len(t, a, 2)
	bad, err := Markers(resp, "c-bad")
	require.NoError(t, err)
	assert.Empty(t, bad, "a failure answer is not a marker")

	// In flight: refused.
	inflight := filepath.Join(req, "c-a-55555555-5555-4555-8555-555555555555.json")
	require.NoError(t, os.WriteFile(inflight+".x", []byte("{}"), 0o644)) // not protocol: ignored
	sos.Stop()
	require.NoError(t, os.WriteFile(inflight, []byte(`{"target_node":"c-a"}`), 0o644))
	_, err = Unfence(req, resp, "c-a")
	assert.ErrorIs(t, err, ErrInFlight)
	require.NoError(t, os.Remove(inflight))

	removed, err := Unfence(req, resp, "c-a")
	require.NoError(t, err)
	assert.Len(t, removed, 2)
	a, _ = Markers(resp, "c-a")
	assert.Empty(t, a)
	b, _ := Markers(resp, "c-b")
	assert.Len(t, b, 1, "other nodes keep their markers")
	removed, err = Unfence(req, resp, "c-bad")
	require.NoError(t, err)
	assert.Len(t, removed, 1, "failure answers are cleaned up too")
	_, err = Unfence(req, resp, "../x")
	assert.Error(t, err)
}
