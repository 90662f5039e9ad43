package plugin

import "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/intfmt"

// Level is a log level with log/slog's numeric values, so the host maps it
// one to one.
type Level int32

// The levels a strategy can log at. The host drops debug lines unless the
// agent runs verbose.
const (
	LevelDebug Level = -4 // detail for `plugins run` traces and verbose runs
	LevelInfo  Level = 0  // normal progress worth keeping in the operational log
	LevelWarn  Level = 4  // something odd the strategy worked around
	LevelError Level = 8  // the strategy failed; also say so in the returned error
)

// Logger writes leveled lines to the host's operational log. Attributes are
// key/value pairs like log/slog's; values are formatted without fmt (strings,
// integers, bools, errors, []string; anything else prints as "?").
type Logger struct {
	sink func(Level, string)
}

// NewLogger returns a Logger that hands each formatted line to sink. The wasm
// glue and plugintest use it; strategies get theirs from Context.Logger.
func NewLogger(sink func(Level, string)) *Logger { return &Logger{sink: sink} }

// Debug logs msg with key/value pairs at LevelDebug.
func (l *Logger) Debug(msg string, kv ...any) { l.log(LevelDebug, msg, kv) }

// Info logs msg with key/value pairs at LevelInfo.
func (l *Logger) Info(msg string, kv ...any) { l.log(LevelInfo, msg, kv) }

// Warn logs msg with key/value pairs at LevelWarn.
func (l *Logger) Warn(msg string, kv ...any) { l.log(LevelWarn, msg, kv) }

// Error logs msg with key/value pairs at LevelError.
func (l *Logger) Error(msg string, kv ...any) { l.log(LevelError, msg, kv) }

func (l *Logger) log(level Level, msg string, kv []any) {
	if l == nil || l.sink == nil {
		return
	}
	b := []byte(msg)
	for i := 0; i < len(kv); i += 2 {
		b = append(b, ' ')
		b = appendValue(b, kv[i])
		b = append(b, '=')
		if i+1 < len(kv) {
			b = appendValue(b, kv[i+1])
		} else {
			b = append(b, "!MISSING"...)
		}
	}
	l.sink(level, string(b))
}

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendQuotedIfNeeded(b, x)
	case int:
		return intfmt.AppendInt(b, int64(x))
	case int64:
		return intfmt.AppendInt(b, x)
	case int32:
		return intfmt.AppendInt(b, int64(x))
	case bool:
		if x {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case error:
		if x == nil {
			return append(b, "<nil>"...)
		}
		return appendQuotedIfNeeded(b, x.Error())
	case []string:
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuotedIfNeeded(b, s)
		}
		return append(b, ']')
	case nil:
		return append(b, "<nil>"...)
	}
	return append(b, '?')
}

// appendQuotedIfNeeded quotes values with spaces, quotes, '=' or control
// bytes so one log line stays one line and stays parseable.
func appendQuotedIfNeeded(b []byte, s string) []byte {
	needs := s == ""
	for i := 0; i < len(s) && !needs; i++ {
		c := s[i]
		needs = c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f
	}
	if !needs {
		return append(b, s...)
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c < ' ' || c == 0x7f:
			b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
