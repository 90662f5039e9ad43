package record

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/tmpfstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A write that does not finish by the deadline (here: a lock that another
// holder keeps) is given up on, goes to the fallback, and does not land in
// the file later when the holder lets go.
func TestWriteGivesUpAtTheDeadline(t *testing.T) {
	dir := t.TempDir()
	f, err := os.OpenFile(filepath.Join(dir, DetailedFile), os.O_CREATE|os.O_WRONLY, 0o640)
	require.NoError(t, err)
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))
	var stderr bytes.Buffer
	w := &Writer{Dir: dir, Stderr: &stderr, Deadline: 200 * time.Millisecond,
		Syslog: func(string) error { return nil }}
	ev := sampleEvent("compute-node-3", "off")
	start := time.Now()
	err = w.Write(ev)
	assert.Less(t, time.Since(start), LockWait, "the deadline, not the lock wait, ended it")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "took longer than 200ms")
	assert.Contains(t, stderr.String(), ev.EventID)

	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_UN))
	f.Close()
	time.Sleep(300 * time.Millisecond) // let the abandoned write see the lock free
	b, err := os.ReadFile(filepath.Join(dir, DetailedFile))
	require.NoError(t, err)
	assert.NotContains(t, string(b), ev.EventID, "an abandoned record does not land twice")
}

// The fallback says "syslog" only when a socket took the record.
func TestFallbackSaysWhereTheRecordWent(t *testing.T) {
	for _, tc := range []struct {
		syslog error
		want   string
	}{
		{nil, "(the record was sent to stderr and syslog)"},
		{errors.New("dial unixgram /dev/log: no such file"), "(the record was sent to stderr only: syslog did not take it: dial unixgram /dev/log: no such file)"},
	} {
		var stderr bytes.Buffer
		w := &Writer{Dir: "", Stderr: &stderr, Syslog: func(string) error { return tc.syslog }}
		err := w.Write(sampleEvent("compute-node-3", "off"))
		var fe *FallbackError
		require.ErrorAs(t, err, &fe)
		assert.Contains(t, err.Error(), tc.want)
	}
}

// On a full disk (a 64 KiB tmpfs; needs root) every line of the
// operational log is whole: a write cut short is cut off again.
func TestOpLogHasNoTornLineWhenTheDiskFills(t *testing.T) {
	mnt := tmpfstest.Mount(t, "64k", "0755")
	dir := filepath.Join(mnt, "log")
	l, err := OpenOpLog(dir, false, &bytes.Buffer{})
	require.NoError(t, err)
	for i := 0; i < 100; i++ {
		l.Info("filler", "blob", strings.Repeat("x", 1500+i))
	}
	assert.Error(t, l.Close(), "the disk filled up")
	b, err := os.ReadFile(filepath.Join(dir, OperationalFile))
	require.NoError(t, err)
	require.NotEmpty(t, b)
	assert.Equal(t, byte('\n'), b[len(b)-1], "the file ends with a whole line")
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		assert.True(t, strings.HasPrefix(line, "time=") && strings.Contains(line, "msg=filler"), "torn line %.60q", line)
	}
}

func TestModeStringShowsTheSpecialBits(t *testing.T) {
	assert.Equal(t, "1777", modeString(0o777|os.ModeSticky))
	assert.Equal(t, "0750", modeString(0o750))
	assert.Equal(t, "2770", modeString(0o770|os.ModeSetgid))
}
