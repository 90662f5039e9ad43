package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/tmpfstest"
)

// A re-exec of the test binary with this variable set writes events and
// exits: the concurrency test needs real separate processes, as Pacemaker
// runs separate agents.
const helperEnv = "RECORD_TEST_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(helperWrite(dir))
	}
	os.Exit(m.Run())
}

func helperWrite(dir string) int {
	n, _ := strconv.Atoi(os.Getenv("RECORD_TEST_HELPER_N"))
	w := &Writer{Dir: dir}
	for i := 0; i < n; i++ {
		ev := sampleEvent(fmt.Sprintf("compute-node-%d", os.Getpid()), "reboot")
		// A big attempt detail makes each record ~40 KB, far beyond PIPE_BUF
		// and a page: a torn or interleaved write would show.
		ev.Discovery.Attempts[0].Details = map[string]any{"blob": strings.Repeat(strconv.Itoa(os.Getpid()%10), 40<<10)}
		if err := w.Write(ev); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func sampleEvent(target, action string) *Event {
	ev := NewEvent(time.Now(), action)
	ev.TargetNode = target
	ev.RecorderNode = "rabbit-node-1"
	ev.AgentVersion = "test"
	ev.GFS2Filesystems = []string{"sharedfs", "scratch"}
	ev.Discovery = discovery.Report{Enabled: true, Strategy: "pcs-status", Attempts: []discovery.Attempt{
		{Strategy: "kubectl-nnf", Outcome: discovery.OutcomeError, Error: "no kubeconfig"},
		{Strategy: "pcs-status", Outcome: discovery.OutcomeFound, Filesystems: []string{"sharedfs", "scratch"}},
	}}
	return ev
}

func readLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	require.True(t, strings.HasSuffix(string(b), "\n"), "%s does not end in a newline", name)
	return strings.Split(s, "\n")
}

func TestWriteCreatesFilesWithModesAndReferenceFields(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "gfs2-fencing")
	w := &Writer{Dir: dir}
	ev := sampleEvent("compute-node-3", "reboot")
	require.NoError(t, w.Write(ev))

	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, DirMode, fi.Mode().Perm())
	for _, f := range []string{DetailedFile, ReadableFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.Equal(t, FileMode, fi.Mode().Perm(), f)
	}

	lines := readLines(t, filepath.Join(dir, DetailedFile))
	require.Len(t, lines, 1)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &m))
	for _, k := range []string{"timestamp", "action", "target_node", "gfs2_filesystems", "status", "details", "recorder_node", "pacemaker_action", "event_id", "agent_version", "discovery"} {
		assert.Contains(t, m, k)
	}
	assert.Equal(t, "Fence action reboot initiated by Pacemaker", m["details"])
	assert.Equal(t, "initiated", m["status"])
	assert.Equal(t, []any{"sharedfs", "scratch"}, m["gfs2_filesystems"])
	_, err = time.Parse(time.RFC3339, m["timestamp"].(string))
	assert.NoError(t, err)
	assert.True(t, strings.HasSuffix(m["timestamp"].(string), "Z"))
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, m["event_id"])

	rl := readLines(t, filepath.Join(dir, ReadableFile))
	require.Len(t, rl, 1)
	assert.Regexp(t, `^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] ACTION=reboot TARGET=compute-node-3 GFS2=\["sharedfs","scratch"\] STATUS=initiated DETAILS=Fence action reboot initiated by Pacemaker$`, rl[0])
}

// The two jq queries operators run against the reference format.
func TestJQQueriesFromTheReference(t *testing.T) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		t.Skip("jq not installed")
	}
	dir := t.TempDir()
	w := &Writer{Dir: dir}
	for _, e := range []struct{ target, action string }{{"compute-node-3", "reboot"}, {"compute-node-4", "off"}, {"compute-node-3", "off"}, {"compute-node-3", "on"}} {
		require.NoError(t, w.Write(sampleEvent(e.target, e.action)))
	}
	file := filepath.Join(dir, DetailedFile)
	out, err := exec.Command(jq, "-r", `select(.target_node == "compute-node-3") | .gfs2_filesystems[]`, file).Output()
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("sharedfs\nscratch\n", 3), string(out))
	out, err = exec.Command("sh", "-c", jq+` -r '.action' "$1" | sort | uniq -c`, "sh", file).Output()
	require.NoError(t, err)
	assert.Equal(t, "      2 off\n      1 on\n      1 reboot\n", string(out))
}

// No target name, however hostile, may split a readable line or forge a field.
func TestReadableLineCannotBeForged(t *testing.T) {
	hostile := []string{
		"node\nACTION=off TARGET=forged",
		"x ACTION=on",
		"a=b",
		"\x1b[2J\x00\r",
		"n\xff\xfeode",
		`"quoted" \ back`,
		"ünïcode",
		strings.Repeat("A", 10<<10),
		"",
		"$(reboot); `id` | rm -rf /",
	}
	line := regexp.MustCompile(`^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] ACTION=(\S+) TARGET=(\S+) GFS2=\[(\S*)\] STATUS=(\S+) DETAILS=([ -~]*)$`)
	for _, target := range hostile {
		ev := sampleEvent(target, "off")
		ev.GFS2Filesystems = []string{"fs\nACTION=x", "ok"}
		ev.Details = "Fence action off initiated by Pacemaker\nSTATUS=forged"
		s := ev.ReadableLine()
		require.True(t, strings.HasSuffix(s, "\n"))
		body := strings.TrimSuffix(s, "\n")
		assert.NotContains(t, body, "\n", "target %q split the line", target)
		m := line.FindStringSubmatch(body)
		require.NotNil(t, m, "line for %q does not parse: %q", target, body)
		assert.Equal(t, "off", m[1])
		assert.Equal(t, 1, strings.Count(body, "ACTION="), "target %q forged a field: %q", target, body)
		assert.Equal(t, 1, strings.Count(body, "STATUS="), "details forged a field: %q", body)
		for _, c := range []byte(body) {
			require.True(t, c >= 0x20 && c <= 0x7e, "raw byte 0x%02x in %q", c, body)
		}
		// The escaping is reversible: the exact bytes can be recovered.
		if target != "" && !strings.HasPrefix(m[2], `"`) {
			assert.Equal(t, target, m[2])
		} else {
			assert.Equal(t, target, unescapeForTest(t, strings.Trim(m[2], `"`)))
		}
	}
}

func unescapeForTest(t *testing.T, s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			require.NoError(t, err)
			b = append(b, byte(v))
			i += 3
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// A non-UTF-8 target survives byte-exact in target_node_escaped even though
// JSON must replace the bad bytes in target_node.
func TestJSONKeepsHostileTargetsValid(t *testing.T) {
	dir := t.TempDir()
	w := &Writer{Dir: dir}
	ev := sampleEvent("bad\xffnode\n{\"action\":\"on\"}", "reboot")
	ev.TargetNodeEscaped = EscapeToken(ev.TargetNode)
	require.NoError(t, w.Write(ev))
	lines := readLines(t, filepath.Join(dir, DetailedFile))
	require.Len(t, lines, 1, "a newline in the target must not split the JSON record")
	var got Event
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &got))
	assert.Equal(t, "reboot", got.Action)
	assert.Equal(t, `"bad\xffnode\x0a\x7b\x22action\x22:\x22on\x22\x7d"`, got.TargetNodeEscaped)
}

func TestConcurrentProcessesNeverTearRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 64 processes")
	}
	const procs, each = 64, 3
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for i := 0; i < procs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+dir, "RECORD_TEST_HELPER_N="+strconv.Itoa(each))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("%v: %s", err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	detailed := readLines(t, filepath.Join(dir, DetailedFile))
	readable := readLines(t, filepath.Join(dir, ReadableFile))
	require.Len(t, detailed, procs*each)
	require.Len(t, readable, procs*each)
	ids := map[string]bool{}
	for i, l := range detailed {
		var ev Event
		require.NoError(t, json.Unmarshal([]byte(l), &ev), "record %d is torn", i)
		blob := ev.Discovery.Attempts[0].Details["blob"].(string)
		require.Len(t, blob, 40<<10)
		require.Equal(t, strings.Repeat(blob[:1], len(blob)), blob, "record %d mixes two writers", i)
		assert.False(t, ids[ev.EventID], "duplicate event id")
		ids[ev.EventID] = true
		// Both files list the events in the same order (one lock for both).
		assert.Contains(t, readable[i], "TARGET="+ev.TargetNode+" ")
	}
}

func TestUnwritableDirFallsBackToStderrAndSyslog(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "a-file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	for name, dir := range map[string]string{
		"file in the way":      filepath.Join(blocker, "logs"),
		"path is a file":       blocker,
		"read-only filesystem": "/proc/self",
		"empty":                "",
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			var logged []string
			w := &Writer{Dir: dir, Stderr: &stderr, Syslog: func(m string) error { logged = append(logged, m); return nil }}
			ev := sampleEvent("compute-node-3", "off")
			err := w.Write(ev)
			require.Error(t, err)
			assert.Contains(t, stderr.String(), `"target_node":"compute-node-3"`)
			assert.Contains(t, stderr.String(), ev.EventID)
			assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line on stderr")
			require.Len(t, logged, 1)
			assert.Contains(t, logged[0], ev.EventID)
		})
	}
}

// A real full filesystem (a 64 KiB tmpfs; needs root): the event goes to
// the fallback, no torn record is left behind, and the monitor check fails.
func TestDiskFull(t *testing.T) {
	mnt := tmpfstest.Mount(t, "64k", "0755")

	var stderr bytes.Buffer
	var logged []string
	w := &Writer{Dir: filepath.Join(mnt, "log"), Stderr: &stderr, Syslog: func(m string) error { logged = append(logged, m); return nil }}
	var failed *Event
	for i := 0; i < 200 && failed == nil; i++ {
		ev := sampleEvent("compute-node-3", "off")
		ev.Discovery.Attempts[0].Details = map[string]any{"blob": strings.Repeat("x", 3000)}
		if err := w.Write(ev); err != nil {
			assert.ErrorIs(t, err, syscall.ENOSPC)
			failed = ev
		}
	}
	require.NotNil(t, failed, "the filesystem never filled up")
	assert.Contains(t, stderr.String(), failed.EventID)
	require.Len(t, logged, 1)
	for _, f := range []string{DetailedFile, ReadableFile} {
		b, err := os.ReadFile(filepath.Join(mnt, "log", f))
		require.NoError(t, err)
		assert.True(t, len(b) == 0 || b[len(b)-1] == '\n', "%s ends in a partial record", f)
		if f == DetailedFile {
			for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
				if l != "" {
					require.True(t, json.Valid([]byte(l)), "torn record in %s", f)
				}
			}
		}
	}
	err := CheckWritable(filepath.Join(mnt, "log"))
	require.Error(t, err)
}

// The syslog fallback over a real datagram socket, as /dev/log is.
func TestSyslogFallbackSendsToASyslogSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, sendSyslogTo("unixgram", sock, `fence record: {"target_node":"compute-node-3"}`))
	buf := make([]byte, 4096)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	n, err := conn.Read(buf)
	require.NoError(t, err)
	msg := string(buf[:n])
	assert.True(t, strings.HasPrefix(msg, "<26>"), "facility daemon, severity crit: %q", msg)
	assert.Contains(t, msg, "fence_gfs2_recorder[")
	assert.Contains(t, msg, `{"target_node":"compute-node-3"}`)

	assert.Error(t, sendSyslogTo("unixgram", filepath.Join(t.TempDir(), "nobody"), "x"), "no listener is an error, not a hang")
}

func TestOpLogWritesFileAndStderr(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	l, err := OpenOpLog(dir, false, &stderr)
	require.NoError(t, err)
	l.Info("fence event recorded", "target", "compute-node-3\nfake=line")
	l.Debug("hidden at info level")
	require.NoError(t, l.Close())
	b, err := os.ReadFile(filepath.Join(dir, OperationalFile))
	require.NoError(t, err)
	assert.Equal(t, 1, bytes.Count(b, []byte("\n")), "a newline in a value must not split the line: %q", b)
	assert.Contains(t, string(b), `target="compute-node-3\nfake=line"`)
	assert.NotContains(t, string(b), "hidden")
	assert.Contains(t, stderr.String(), "fence event recorded")
	assert.NotContains(t, stderr.String(), "\x1b[", "no colours when stderr is not a terminal")

	_, err = OpenOpLog(filepath.Join(dir, OperationalFile, "sub"), true, &stderr)
	assert.Error(t, err, "a file in the way is reported")
}

func TestEventIDsAreTimeOrdered(t *testing.T) {
	base := time.Date(2026, 11, 25, 6, 30, 0, 0, time.UTC)
	prev := ""
	for i := 0; i < 100; i++ {
		id := NewEventID(base.Add(time.Duration(i) * time.Millisecond))
		require.Greater(t, id, prev)
		prev = id
	}
	assert.True(t, strings.HasPrefix(NewEventID(base), fmt.Sprintf("%08x", base.UnixMilli()>>16)))
}

func TestDeferredSecondRecordReusesTheWriter(t *testing.T) {
	dir := t.TempDir()
	w := &Writer{Dir: dir}
	ev := sampleEvent("compute-node-3", "reboot")
	ev.Discovery.State = "pending"
	require.NoError(t, w.Write(ev))
	// A later process reads the first record back and completes it.
	lines := readLines(t, filepath.Join(dir, DetailedFile))
	var again Event
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &again))
	again.Discovery.State = "complete"
	require.NoError(t, w.Write(&again))
	lines = readLines(t, filepath.Join(dir, DetailedFile))
	require.Len(t, lines, 2)
	assert.Contains(t, lines[1], `"event_id":"`+ev.EventID+`"`)
	rl := readLines(t, filepath.Join(dir, ReadableFile))
	require.Len(t, rl, 2)
	assert.Equal(t, rl[0][:21], rl[1][:21], "the readable time is the event's, not the rewrite's")
}

// Whatever the inputs, the readable line is one line of printable ASCII with
// exactly one of each field.
func FuzzReadableLine(f *testing.F) {
	f.Add("compute-node-3", "sharedfs", "Fence action off initiated by Pacemaker")
	f.Add("a\nACTION=on", "x\" y", "STATUS=forged\r\n")
	f.Add("\xff\x00", "", "\x1b[2J")
	line := regexp.MustCompile(`^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] ACTION=\S+ TARGET=\S+ GFS2=\[\S*\] STATUS=\S+ DETAILS=[ -~]*\n$`)
	f.Fuzz(func(t *testing.T, target, fs, details string) {
		ev := sampleEvent(target, "reboot")
		ev.GFS2Filesystems = []string{fs, target}
		ev.Details = details
		s := ev.ReadableLine()
		if !line.MatchString(s) {
			t.Fatalf("malformed line %q", s)
		}
		for _, field := range []string{"ACTION=", "TARGET=", "GFS2=", "STATUS=", "DETAILS="} {
			if n := strings.Count(s, field); n != 1 {
				t.Fatalf("%d copies of %s in %q", n, field, s)
			}
		}
	})
}
