package record

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/lmittmann/tint"
	"golang.org/x/sys/unix"
)

// OpLog is the operational log: fence-events.log in the log directory plus
// stderr, which Pacemaker keeps in its own log.
type OpLog struct {
	*slog.Logger
	file *os.File
}

// OpenOpLog opens dir/fence-events.log for appending (reopened every run, so
// logrotate needs no signal) and returns a logger writing there and to
// stderr. tint colours stderr only when it is a terminal. If the file cannot
// be opened the logger still writes to stderr and the error is returned.
// Each record is a single write(2) on an O_APPEND file, so concurrent agents'
// lines do not interleave.
func OpenOpLog(dir string, verbose bool, stderr io.Writer) (*OpLog, error) {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	handlers := []slog.Handler{stderrHandler(stderr, level)}
	var file *os.File
	err := EnsureDir(dir)
	if err == nil {
		var f *os.File
		f, _, err = openAppend(filepath.Join(dir, OperationalFile))
		if err == nil {
			file = f
			handlers = append(handlers, slog.NewTextHandler(f, &slog.HandlerOptions{Level: level}))
		}
	}
	l := &OpLog{Logger: slog.New(fanout(handlers)).With("pid", os.Getpid()), file: file}
	return l, err
}

// StderrOnly is the logger for runs that must not touch the log directory.
func StderrOnly(verbose bool, stderr io.Writer) *OpLog {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return &OpLog{Logger: slog.New(stderrHandler(stderr, level))}
}

// Close syncs and closes the log file.
func (l *OpLog) Close() error {
	if l == nil || l.file == nil {
		return nil
	}
	err := l.file.Sync()
	return errors.Join(err, l.file.Close())
}

func stderrHandler(w io.Writer, level slog.Level) slog.Handler {
	if w == nil {
		w = os.Stderr
	}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		return tint.NewHandler(w, &tint.Options{Level: level, TimeFormat: time.TimeOnly})
	}
	return slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// fanout sends every record to each handler that wants it.
type fanout []slog.Handler

func (h fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, x := range h {
		if x.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (h fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, x := range h {
		if x.Enabled(ctx, r.Level) {
			errs = append(errs, x.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (h fanout) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(fanout, len(h))
	for i, x := range h {
		out[i] = x.WithAttrs(as)
	}
	return out
}

func (h fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(h))
	for i, x := range h {
		out[i] = x.WithGroup(name)
	}
	return out
}
