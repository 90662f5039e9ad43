package options

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
)

// A writer that sends its options and never closes stdin: the agent goes on
// after the idle wait with the complete lines, and says so.
func TestStdinHeldOpenEndsAfterTheIdleWait(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	go func() { _, _ = io.WriteString(w, "action=off\nnodename=compute-node-3\nlog_d") }()
	start := time.Now()
	p := parseStdin(r, 200*time.Millisecond, 10*time.Second)
	assert.Less(t, time.Since(start), 5*time.Second, "bounded by the idle wait, not the writer")
	assert.Equal(t, "off", p.Action())
	assert.Equal(t, "compute-node-3", p.Target())
	assert.False(t, p.Has(LogDir), "half a line is never acted on")
	joined := strings.Join(p.Warnings, "\n")
	assert.Contains(t, joined, "line 3: unfinished")
	assert.Contains(t, joined, "still open after 200ms without data")
}

// A writer that trickles bytes forever is cut at the total wait.
func TestStdinTrickleEndsAtTheTotalWait(t *testing.T) {
	r, w := io.Pipe()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		_, _ = io.WriteString(w, "action=reboot\n")
		for {
			select {
			case <-stop:
				w.Close()
				return
			case <-time.After(20 * time.Millisecond):
				_, _ = io.WriteString(w, "#\n")
			}
		}
	}()
	start := time.Now()
	p := parseStdin(r, time.Second, 300*time.Millisecond)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, "reboot", p.Action())
	require.NotEmpty(t, p.Warnings)
	assert.Contains(t, p.Warnings[len(p.Warnings)-1], "still open after 300ms;")
}

// argv, stdin and the configuration file read booleans and durations with
// one grammar.
func TestOptionsAndConfigShareOneValueGrammar(t *testing.T) {
	for _, s := range []string{"1", "0", "yes", "NO", " on ", "off", "True", "false", "y", "maybe", "2"} {
		want, wantOK := config.BoolText(s)
		got, err := ParseBool(s)
		assert.Equal(t, wantOK, err == nil, "%q", s)
		assert.Equal(t, want, got, "%q", s)
	}
	for _, s := range []string{"0", "5", "2.5", " 30 ", "1m30s", "500ms", "soon", "NaN", "Inf"} {
		want, wantOK := config.DurationText(s)
		got, err := ParseDelay(s)
		assert.Equal(t, wantOK, err == nil, "%q", s)
		assert.Equal(t, want, got, "%q", s)
	}
}
