package recordtest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record"
)

type view struct {
	TargetNode string `json:"target_node"`
}

func write(t *testing.T, content string) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, record.DetailedFile), []byte(content), 0o600))
	return dir
}

func TestReadDecodesEveryLine(t *testing.T) {
	long := strings.Repeat("x", 1<<20) // longer than bufio.Scanner's default line
	dir := write(t, `{"target_node":"a"}`+"\n"+`{"target_node":"`+long+`"}`+"\n")
	assert.Equal(t, []view{{"a"}, {long}}, Read[view](t, dir))
	assert.Len(t, Read[record.Event](t, dir), 2)
}

func TestReadMissingOrEmptyFileIsNoRecords(t *testing.T) {
	assert.Empty(t, Read[view](t, t.TempDir()))
	assert.Empty(t, Read[view](t, write(t, "")))
}

// failTB records failures and stops the test function, as testing.T does.
type failTB struct {
	testing.TB
	msgs []string
}

func (f *failTB) Helper() {}
func (f *failTB) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}
func (f *failTB) FailNow() { runtime.Goexit() }

// readFailures runs Read on dir and returns how it failed the test.
func readFailures(t *testing.T, dir string) []string {
	f := &failTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Read[view](f, dir)
	}()
	<-done
	return f.msgs
}

func TestReadTornLineFailsShowingIt(t *testing.T) {
	msgs := readFailures(t, write(t, `{"target_node":"a"}`+"\n"+`{"target_no`+"\n"))
	require.Len(t, msgs, 1)
	assert.Contains(t, msgs[0], "record line: {\"target_no\n")
	assert.Len(t, readFailures(t, write(t, `{"target_node":"a"}`+"\n\n")), 1, "a blank line is no record")
}
