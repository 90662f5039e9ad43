package record

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/lmittmann/tint"
	"golang.org/x/term"
)

// OpenDeadline bounds opening the operational log: on a hung filesystem
// the agent logs to stderr only and goes on to write the record (which has
// its own deadline and fallback).
const OpenDeadline = 2 * time.Second

// OpLog is the operational log: fence-events.log in the log directory plus
// stderr, which Pacemaker keeps in its own log.
type OpLog struct {
	*slog.Logger
	file *lineFile
}

// OpenOpLog opens dir/fence-events.log for appending (reopened every run, so
// logrotate needs no signal) and returns a logger writing there and to
// stderr. tint colours stderr only when it is a terminal. If the file cannot
// be opened (or is unsafe, see EnsureDir and openAppend) the logger still
// writes to stderr and the error is returned. Each line is one write(2)
// under the file's flock, so concurrent agents' lines do not interleave and
// a write cut short by a full disk is cut off again.
func OpenOpLog(dir string, verbose bool, stderr io.Writer) (*OpLog, error) {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	handlers := []slog.Handler{stderrHandler(stderr, level)}
	file, err := openLineFile(dir)
	if err == nil {
		handlers = append(handlers, slog.NewTextHandler(file, &slog.HandlerOptions{Level: level}))
	}
	l := &OpLog{Logger: slog.New(slog.NewMultiHandler(handlers...)).With("pid", os.Getpid()), file: file}
	return l, err
}

func openLineFile(dir string) (*lineFile, error) {
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		if err := EnsureDir(dir); err != nil {
			done <- opened{nil, err}
			return
		}
		f, _, err := openAppend(filepath.Join(dir, OperationalFile))
		done <- opened{f, err}
	}()
	t := time.NewTimer(OpenDeadline)
	defer t.Stop()
	select {
	case o := <-done:
		if o.err != nil {
			return nil, o.err
		}
		return startLineFile(o.f), nil
	case <-t.C:
		return nil, fmt.Errorf("opening %s took longer than %s (a hung filesystem?)", filepath.Join(dir, OperationalFile), OpenDeadline)
	}
}

// Close writes what is queued (waiting at most OpenDeadline) and closes
// the log file.
func (l *OpLog) Close() error {
	if l == nil || l.file == nil {
		return nil
	}
	return l.file.Close(OpenDeadline)
}

func stderrHandler(w io.Writer, level slog.Level) slog.Handler {
	if w == nil {
		w = os.Stderr
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return tint.NewHandler(w, &tint.Options{Level: level, TimeFormat: time.TimeOnly})
	}
	return slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})
}

// ErrOpLogStalled: lines were dropped because the file did not take them
// in time.
var ErrOpLogStalled = errors.New("operational log file stalled; lines dropped (they are on stderr)")
