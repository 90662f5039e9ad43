package fakesos_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakesos"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/inotify"
)

// Generous bounds: these are "eventually" limits on a loaded machine, never
// performance claims.
const (
	eventually = 20 * time.Second
	tick       = 5 * time.Millisecond
	// quiet is how long a test watches for something that must not happen.
	quiet = 400 * time.Millisecond
)

type dirs struct{ req, resp string }

func newDirs(t *testing.T) dirs {
	d := t.TempDir()
	return dirs{req: filepath.Join(d, "requests"), resp: filepath.Join(d, "responses")}
}

func start(t *testing.T, d dirs, behaviour func(fakesos.Request) fakesos.Answer) *fakesos.Responder {
	t.Helper()
	return fakesos.StartT(t, fakesos.Config{RequestDir: d.req, ResponseDir: d.resp, Behaviour: behaviour})
}

func requestJSON(id, target string) []byte {
	b, _ := json.MarshalIndent(map[string]string{
		"request_id":    id,
		"timestamp":     "2026-12-07T23:10:00.123456+01:00",
		"action":        "reboot",
		"target_node":   target,
		"recorder_node": "rabbit-node-1",
	}, "", "  ")
	return b
}

// publish puts a request in place the way the protocol demands: a dot temp
// file renamed into the final name.
func publish(t *testing.T, dir, name string, body []byte) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	tmp := filepath.Join(dir, "."+name+".tmp")
	require.NoError(t, os.WriteFile(tmp, body, 0o644))
	final := filepath.Join(dir, name)
	require.NoError(t, os.Rename(tmp, final))
	return final
}

func waitFile(t *testing.T, path string) []byte {
	t.Helper()
	var b []byte
	require.Eventually(t, func() bool {
		var err error
		b, err = os.ReadFile(path)
		return err == nil && json.Valid(b)
	}, eventually, tick, "no complete %s", path)
	return b
}

func waitResponses(t *testing.T, r *fakesos.Responder, n int) []fakesos.Response {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.Responses()) >= n }, eventually, tick)
	return r.Responses()
}

func waitRequests(t *testing.T, r *fakesos.Responder, n int) []fakesos.Request {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.Requests()) >= n }, eventually, tick)
	return r.Requests()
}

func requireGone(t *testing.T, path string) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, err := os.Stat(path)
		return os.IsNotExist(err)
	}, eventually, tick, "%s still exists", path)
}

// inotifyWatch records the raw inotify events on a directory, so a test can
// tell a rename into place (IN_MOVED_TO) from an in-place write (IN_CREATE,
// IN_MODIFY); fsnotify folds both into Create.
type inotifyWatch struct{ fd int }

func watchDir(t *testing.T, dir string) *inotifyWatch {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	require.NoError(t, err)
	_, err = unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MODIFY|unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	return &inotifyWatch{fd: fd}
}

func (w *inotifyWatch) events() []inotify.Event {
	var out []inotify.Event
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(w.fd, buf)
		if n <= 0 || err != nil {
			return out
		}
		out = append(out, inotify.Decode(buf[:n])...)
	}
}

func (w *inotifyWatch) masksFor(name string) uint32 {
	var m uint32
	for _, e := range w.events() {
		if e.Name == name {
			m |= e.Mask
		}
	}
	return m
}

const (
	id1   = "3f1c2a9e-7b4d-4e5f-9a8b-1c2d3e4f5a6b"
	id2   = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
	name1 = "rabbit-compute-3-" + id1 + ".json"
	name2 = "rabbit-compute-4-" + id2 + ".json"
)

func TestR1ByteExactAtomicAndRequestDeleted(t *testing.T) {
	d := newDirs(t)
	r := start(t, d, fakesos.Always(fakesos.Answer{Shape: fakesos.R1, Success: true}))
	w := watchDir(t, d.resp)
	reqPath := publish(t, d.req, name1, requestJSON(id1, "rabbit-compute-3"))

	got := waitFile(t, filepath.Join(d.resp, name1))
	want := `{
  "action": "reboot",
  "action_performed": "off",
  "message": "Successfully fenced node by deleting 1 GFS2 storage groups",
  "recorder_node": "rabbit-node-1",
  "request_id": "` + id1 + `",
  "success": true,
  "target_node": "rabbit-compute-3",
  "timestamp": "2026-12-07T23:10:00.123456+01:00"
}`
	assert.Equal(t, want, string(got))
	requireGone(t, reqPath)

	m := w.masksFor(name1)
	assert.NotZero(t, m&unix.IN_MOVED_TO, "R1 must be renamed into place")
	assert.Zero(t, m&(unix.IN_CREATE|unix.IN_MODIFY), "R1 must never be written under its final name")
	fi, err := os.Stat(filepath.Join(d.resp, name1))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	entries, _ := os.ReadDir(d.resp)
	assert.Len(t, entries, 1, "no temp file left behind")

	resp := waitResponses(t, r, 1)[0]
	assert.Equal(t, name1, resp.File)
	assert.Equal(t, want, string(resp.Body))
	assert.NoError(t, resp.Err)
}

var rfc3339Seconds = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$`)

func TestR2ByteExactInPlaceAndRequestDeleted(t *testing.T) {
	d := newDirs(t)
	r := start(t, d, nil) // the default is nnf-sos's no-storage answer
	w := watchDir(t, d.resp)
	reqPath := publish(t, d.req, name1, requestJSON(id1, "rabbit-compute-3"))

	got := waitFile(t, filepath.Join(d.resp, name1))
	var ts struct {
		Timestamp string `json:"timestamp"`
	}
	require.NoError(t, json.Unmarshal(got, &ts))
	assert.Regexp(t, rfc3339Seconds, ts.Timestamp, "R2's timestamp is its own write time, RFC 3339 to the second")
	want := `{"request_id":"` + id1 + `","status":"success","success":true,` +
		`"message":"No block storage resources found to fence","timestamp":"` + ts.Timestamp + `",` +
		`"target_node":"rabbit-compute-3","action":"reboot","recorder_node":"rabbit-node-1","action_performed":"off"}`
	assert.Equal(t, want, string(got))
	requireGone(t, reqPath)

	m := w.masksFor(name1)
	assert.NotZero(t, m&unix.IN_CREATE, "R2 is written in place")
	assert.Zero(t, m&unix.IN_MOVED_TO, "R2 is not renamed")
	waitResponses(t, r, 1)
}

func TestR2OmitsEmptyActionAndRecorder(t *testing.T) {
	d := newDirs(t)
	start(t, d, fakesos.Always(fakesos.Answer{Shape: fakesos.R2, Success: true}))
	publish(t, d.req, name1, []byte(`{"request_id":"`+id1+`","target_node":"rabbit-compute-3"}`))
	got := string(waitFile(t, filepath.Join(d.resp, name1)))
	assert.NotContains(t, got, `"action"`)
	assert.NotContains(t, got, `"recorder_node"`)
	assert.Contains(t, got, `"action_performed":"off"`)
}

func TestFailureAndMessage(t *testing.T) {
	d := newDirs(t)
	start(t, d, fakesos.PerTarget(map[string]fakesos.Answer{
		"rabbit-compute-4": {Shape: fakesos.R1, Success: false, Message: "Partially fenced node: handled 1 of 2 storage groups"},
	}, fakesos.Answer{Shape: fakesos.R1, Success: true, Message: "Successfully fenced node (0 deleted, 2 already deleted)"}))
	publish(t, d.req, name1, requestJSON(id1, "rabbit-compute-3"))
	publish(t, d.req, name2, requestJSON(id2, "rabbit-compute-4"))

	var ok, bad struct {
		Success bool   `json:"success"`
		Message string `json:"message"`
	}
	require.NoError(t, json.Unmarshal(waitFile(t, filepath.Join(d.resp, name1)), &ok))
	require.NoError(t, json.Unmarshal(waitFile(t, filepath.Join(d.resp, name2)), &bad))
	assert.True(t, ok.Success)
	assert.Equal(t, "Successfully fenced node (0 deleted, 2 already deleted)", ok.Message)
	assert.False(t, bad.Success)
	assert.Equal(t, "Partially fenced node: handled 1 of 2 storage groups", bad.Message)
}

func TestDelay(t *testing.T) {
	d := newDirs(t)
	const delay = 300 * time.Millisecond
	r := start(t, d, fakesos.Always(fakesos.Answer{Shape: fakesos.R1, Success: true, Delay: delay}))
	publish(t, d.req, name1, requestJSON(id1, "rabbit-compute-3"))
	resp := waitResponses(t, r, 1)[0]
	// A lower bound only: the answer never comes before its delay.
	assert.GreaterOrEqual(t, resp.At.Sub(resp.Request.SeenAt), delay)
}

func TestPartialWriteCompletesAfterPause(t *testing.T) {
	d := newDirs(t)
	const pause = 2 * time.Second
	r := start(t, d, fakesos.Always(fakesos.Answer{Shape: fakesos.R2, Success: true, Partial: pause}))
	publish(t, d.req, name1, requestJSON(id1, "rabbit-compute-3"))

	final := filepath.Join(d.resp, name1)
	var torn []byte
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(final)
		if err == nil && len(b) > 0 {
			torn = b
			return true
		}
		return false
	}, eventually, time.Millisecond)
	full := waitFile(t, final)
	resp := waitResponses(t, r, 1)[0]
	assert.Equal(t, string(resp.Body), string(full))
	if len(torn) < len(full) {
		// Read inside the pause: the first half, an invalid JSON.
		assert.Equal(t, string(full[:len(full)/2]), string(torn))
		assert.False(t, json.Valid(torn), "mid-write content %q", torn)
	} else {
		t.Logf("the first read came after the pause (a loaded machine); only the timing is checked")
	}
	assert.GreaterOrEqual(t, resp.At.Sub(resp.Request.SeenAt), pause)
}

func TestSilenceLeavesRequest(t *testing.T) {
	d := newDirs(t)
	r := start(t, d, fakesos.Always(fakesos.Answer{Silent: true}))
	reqPath := publish(t, d.req, name1, requestJSON(id1, "rabbit-compute-3"))
	seen := waitRequests(t, r, 1)
	assert.Equal(t, "rabbit-compute-3", seen[0].TargetNode)
	time.Sleep(quiet)
	assert.FileExists(t, reqPath)
	entries, _ := os.ReadDir(d.resp)
	assert.Empty(t, entries)
	assert.Empty(t, r.Responses())
}

func TestAnswerUnderAnotherName(t *testing.T) {
	d := newDirs(t)
	start(t, d, fakesos.PerTarget(map[string]fakesos.Answer{
		"rabbit-compute-3": {Shape: fakesos.R1, Success: true, As: name2},
	}, fakesos.Answer{Silent: true}))
	publish(t, d.req, name1, requestJSON(id1, "rabbit-compute-3"))
	got := waitFile(t, filepath.Join(d.resp, name2))
	assert.Contains(t, string(got), id1, "the body is the first request's answer")
	assert.NoFileExists(t, filepath.Join(d.resp, name1))
}

func TestDotFilesAndNonCreateEventsIgnored(t *testing.T) {
	d := newDirs(t)
	r := start(t, d, nil)

	// A dot file, even one holding a valid request, is a temp file.
	require.NoError(t, os.WriteFile(filepath.Join(d.req, ".hidden-"+id2+".json"), requestJSON(id2, "rabbit-compute-4"), 0o644))

	// A request written in place: its Create arrives while it is empty, so
	// it is read empty and dropped; the Write that fills it is ignored.
	inPlace := filepath.Join(d.req, name1)
	f, err := os.Create(inPlace)
	require.NoError(t, err)
	seen := waitRequests(t, r, 1)
	_, err = f.Write(requestJSON(id1, "rabbit-compute-3"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, os.Chmod(inPlace, 0o600))

	assert.Equal(t, name1, seen[0].File)
	assert.Error(t, seen[0].Err, "read at Create, while empty")
	time.Sleep(quiet)
	assert.Len(t, r.Requests(), 1, "no further reads: dot file skipped, Write and Chmod ignored")
	assert.FileExists(t, inPlace, "an undecodable request stays")
	entries, _ := os.ReadDir(d.resp)
	assert.Empty(t, entries)
}

func TestUndecodableRequestSkipped(t *testing.T) {
	d := newDirs(t)
	r := start(t, d, nil)
	// nnf-sos decodes all five fields as strings: a number fails the file.
	p := publish(t, d.req, name1, []byte(`{"request_id":42,"target_node":"rabbit-compute-3"}`))
	seen := waitRequests(t, r, 1)
	assert.Error(t, seen[0].Err)
	time.Sleep(quiet)
	assert.FileExists(t, p)
	assert.Empty(t, r.Responses())
}

func TestStartupScan(t *testing.T) {
	d := newDirs(t)
	// Present before the responder starts: any non-dot file (no ".json"
	// needed), never a dot file or a directory.
	publish(t, d.req, name1, requestJSON(id1, "rabbit-compute-3"))
	legacy := "legacy-" + id2
	publish(t, d.req, legacy, requestJSON(id2, "rabbit-compute-4"))
	require.NoError(t, os.WriteFile(filepath.Join(d.req, ".x.json.tmp"), requestJSON(id2, "rabbit-compute-9"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(d.req, "subdir"), 0o755))

	r := start(t, d, nil)
	waitFile(t, filepath.Join(d.resp, name1))
	waitFile(t, filepath.Join(d.resp, legacy))
	seen := r.Requests()
	require.Len(t, seen, 2)
	for _, s := range seen {
		assert.True(t, s.Scanned, s.File)
	}
	assert.FileExists(t, filepath.Join(d.req, ".x.json.tmp"))
}

func TestRequestsRecordsFields(t *testing.T) {
	d := newDirs(t)
	r := start(t, d, nil)
	publish(t, d.req, name1, requestJSON(id1, "rabbit-compute-3"))
	s := waitRequests(t, r, 1)[0]
	assert.NoError(t, s.Err)
	assert.Equal(t, fakesos.Request{
		File: name1, Path: filepath.Join(d.req, name1),
		RequestID: id1, Timestamp: "2026-12-07T23:10:00.123456+01:00", Action: "reboot",
		TargetNode: "rabbit-compute-3", RecorderNode: "rabbit-node-1",
		Raw: requestJSON(id1, "rabbit-compute-3"), SeenAt: s.SeenAt,
	}, s)
	assert.False(t, s.Scanned)
}

func TestStopAbandonsDelayedAnswers(t *testing.T) {
	d := newDirs(t)
	r, err := fakesos.Start(t.Context(), fakesos.Config{RequestDir: d.req, ResponseDir: d.resp,
		Behaviour: fakesos.Always(fakesos.Answer{Shape: fakesos.R1, Success: true, Delay: time.Hour})})
	require.NoError(t, err)
	reqPath := publish(t, d.req, name1, requestJSON(id1, "rabbit-compute-3"))
	waitRequests(t, r, 1)
	r.Stop()
	r.Stop()
	assert.FileExists(t, reqPath)
	assert.Empty(t, r.Responses())
}

func TestStartNeedsBothDirs(t *testing.T) {
	_, err := fakesos.Start(t.Context(), fakesos.Config{RequestDir: t.TempDir()})
	assert.Error(t, err)
}

func TestKeepRequest(t *testing.T) {
	d := newDirs(t)
	r := start(t, d, fakesos.Always(fakesos.Answer{Shape: fakesos.R1, Success: true, KeepRequest: true}))
	p := publish(t, d.req, name1, requestJSON(id1, "rabbit-compute-3"))
	waitFile(t, filepath.Join(d.resp, name1))
	waitResponses(t, r, 1)
	assert.FileExists(t, p, "stopped before deleting the request")
}

// A node manager that was down answers, at its restart, every request still
// there: the reason an agent withdraws the request it gave up on.
func TestRestartAnswersLeftovers(t *testing.T) {
	d := newDirs(t)
	down := start(t, d, fakesos.Always(fakesos.Answer{Silent: true}))
	publish(t, d.req, name1, requestJSON(id1, "rabbit-compute-3"))
	withdrawn := publish(t, d.req, name2, requestJSON(id2, "rabbit-compute-4"))
	waitRequests(t, down, 2)
	down.Stop()
	require.NoError(t, os.Remove(withdrawn))

	up := start(t, d, nil)
	waitFile(t, filepath.Join(d.resp, name1))
	seen := up.Requests()
	require.Len(t, seen, 1)
	assert.True(t, seen[0].Scanned)
	assert.NoFileExists(t, filepath.Join(d.resp, name2))
}
