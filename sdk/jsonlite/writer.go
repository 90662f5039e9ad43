package jsonlite

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/intfmt"
)

// Writer appends JSON to a byte slice. It inserts commas and colons itself,
// escapes strings exactly like encoding/json with SetEscapeHTML(false) (plus
// U+2028 and U+2029, which encoding/json always escapes), and formats floats
// like encoding/json.
//
// Calls out of grammar (a value in an object without a Key, an ObjectEnd
// inside an array, a second top-level value) are not written; the first one
// is reported by Err, so Bytes is always a valid prefix of a JSON document
// and a complete document once Err returns nil.
type Writer struct {
	buf      []byte
	stack    []byte // open containers: '{' or '['
	comma    bool   // a value was written at this level: the next one needs ','
	afterKey bool   // a Key was written: its value comes next
	done     bool   // a complete top-level value was written
	err      error
}

// NewWriter returns a Writer that appends to buf (pass nil, or buf[:0] to
// reuse its memory).
func NewWriter(buf []byte) *Writer { return &Writer{buf: buf} }

// Bytes returns the JSON written so far.
func (w *Writer) Bytes() []byte { return w.buf }

// Reset empties the Writer, keeping its memory.
func (w *Writer) Reset() {
	*w = Writer{buf: w.buf[:0], stack: w.stack[:0]}
}

// Err returns the first misuse (a call out of grammar, a NaN or infinite
// float, an unsupported Value), or an error if containers are still open.
func (w *Writer) Err() error {
	if w.err != nil {
		return w.err
	}
	if len(w.stack) > 0 {
		return errors.New("jsonlite: writer: " + intfmt.Itoa(len(w.stack)) + " unclosed array(s)/object(s)")
	}
	return nil
}

func (w *Writer) misuse(msg string) {
	if w.err == nil {
		w.err = errors.New("jsonlite: writer: " + msg)
	}
}

// beforeValue writes the separator a value needs here, or reports why no
// value may go here.
func (w *Writer) beforeValue() bool {
	if len(w.stack) == 0 {
		if w.done {
			w.misuse("second top-level value")
			return false
		}
		return true
	}
	if w.stack[len(w.stack)-1] == '{' {
		if !w.afterKey {
			w.misuse("value in object without a key")
			return false
		}
		w.afterKey = false
		return true
	}
	if w.comma {
		w.buf = append(w.buf, ',')
	}
	return true
}

// afterValue marks a complete value at the current level.
func (w *Writer) afterValue() {
	w.comma = true
	if len(w.stack) == 0 {
		w.done = true
	}
}

// ObjectStart opens an object.
func (w *Writer) ObjectStart() {
	if w.beforeValue() {
		w.buf = append(w.buf, '{')
		w.stack = append(w.stack, '{')
		w.comma = false
	}
}

// ObjectEnd closes the innermost object.
func (w *Writer) ObjectEnd() { w.end('{', '}') }

// ArrayStart opens an array.
func (w *Writer) ArrayStart() {
	if w.beforeValue() {
		w.buf = append(w.buf, '[')
		w.stack = append(w.stack, '[')
		w.comma = false
	}
}

// ArrayEnd closes the innermost array.
func (w *Writer) ArrayEnd() { w.end('[', ']') }

func (w *Writer) end(open, closing byte) {
	if len(w.stack) == 0 || w.stack[len(w.stack)-1] != open || w.afterKey {
		w.misuse("unexpected " + string(rune(closing)))
		return
	}
	w.stack = w.stack[:len(w.stack)-1]
	w.buf = append(w.buf, closing)
	w.afterValue()
}

// Key writes an object member's key; the member's value must follow.
func (w *Writer) Key(k string) {
	if len(w.stack) == 0 || w.stack[len(w.stack)-1] != '{' || w.afterKey {
		w.misuse("key outside an object or without a value")
		return
	}
	if w.comma {
		w.buf = append(w.buf, ',')
	}
	w.buf = appendString(w.buf, k)
	w.buf = append(w.buf, ':')
	w.afterKey = true
}

// String writes a string value.
func (w *Writer) String(s string) {
	if w.beforeValue() {
		w.buf = appendString(w.buf, s)
		w.afterValue()
	}
}

// Int writes an integer.
func (w *Writer) Int(n int64) {
	if w.beforeValue() {
		w.buf = intfmt.AppendInt(w.buf, n)
		w.afterValue()
	}
}

// Float writes a float64 formatted as encoding/json does. JSON has no NaN
// or infinity: those are written as null and reported by Err.
func (w *Writer) Float(f float64) {
	if !w.beforeValue() {
		return
	}
	if f-f != 0 { // NaN or ±Inf
		w.misuse("unsupported float value " + nonFinite(f))
		w.buf = append(w.buf, "null"...)
	} else {
		w.buf = appendFloat(w.buf, f)
	}
	w.afterValue()
}

// Bool writes true or false.
func (w *Writer) Bool(b bool) {
	if w.beforeValue() {
		if b {
			w.buf = append(w.buf, "true"...)
		} else {
			w.buf = append(w.buf, "false"...)
		}
		w.afterValue()
	}
}

// Null writes null.
func (w *Writer) Null() {
	if w.beforeValue() {
		w.buf = append(w.buf, "null"...)
		w.afterValue()
	}
}

// Value writes v, which may be a string, bool, int, int64, float64,
// []string, []any, map[string]any, map[string]string, []map[string]any or
// nil, nested in any way. Map keys are sorted, so equal values give equal
// bytes; nil slices and maps are written as null, as encoding/json does.
// On an unsupported type (or a NaN/Inf float) nothing is written and the
// error is returned (and kept for Err).
func (w *Writer) Value(v any) error {
	saved := *w
	savedStack := len(w.stack)
	err := w.value(v, 0)
	if err == nil && w.err != saved.err {
		err = w.err // a call out of grammar, such as a value without a key
	}
	if err != nil {
		stack := w.stack[:savedStack]
		*w = saved
		w.stack = stack
		w.buf = w.buf[:len(saved.buf)]
		if w.err == nil {
			w.err = err
		}
		return err
	}
	return nil
}

func (w *Writer) value(v any, depth int) error {
	if depth > MaxDepth {
		return errors.New("jsonlite: writer: value nested deeper than 1000 levels")
	}
	switch v := v.(type) {
	case nil:
		w.Null()
	case string:
		w.String(v)
	case bool:
		w.Bool(v)
	case int:
		w.Int(int64(v))
	case int64:
		w.Int(v)
	case float64:
		if v-v != 0 {
			return errors.New("jsonlite: writer: unsupported float value " + nonFinite(v))
		}
		w.Float(v)
	case []string:
		if v == nil {
			w.Null() // nil slices and maps are null, as in encoding/json
			break
		}
		w.ArrayStart()
		for _, s := range v {
			w.String(s)
		}
		w.ArrayEnd()
	case []any:
		if v == nil {
			w.Null()
			break
		}
		w.ArrayStart()
		for _, e := range v {
			if err := w.value(e, depth+1); err != nil {
				return err
			}
		}
		w.ArrayEnd()
	case []map[string]any:
		if v == nil {
			w.Null()
			break
		}
		w.ArrayStart()
		for _, m := range v {
			if err := w.object(m, depth+1); err != nil {
				return err
			}
		}
		w.ArrayEnd()
	case map[string]any:
		return w.object(v, depth)
	case map[string]string:
		if v == nil {
			w.Null()
			break
		}
		keys := sortedKeys(v)
		w.ObjectStart()
		for _, k := range keys {
			w.Key(k)
			w.String(v[k])
		}
		w.ObjectEnd()
	default:
		return errors.New("jsonlite: writer: unsupported value type (want string, bool, int, int64, float64, []string, []any, map[string]any, map[string]string, []map[string]any or nil)")
	}
	return nil
}

func (w *Writer) object(m map[string]any, depth int) error {
	if m == nil {
		w.Null()
		return nil
	}
	w.ObjectStart()
	for _, k := range sortedKeys(m) {
		w.Key(k)
		if err := w.value(m[k], depth+1); err != nil {
			return err
		}
	}
	w.ObjectEnd()
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

// sortStrings is a Shell sort: slices.Sort would add about 24 KB of generic
// sorting code to every guest, and the maps written here are small.
func sortStrings(a []string) {
	gap := 1
	for gap < len(a)/3 {
		gap = 3*gap + 1
	}
	for ; gap > 0; gap /= 3 {
		for i := gap; i < len(a); i++ {
			for j := i; j >= gap && a[j] < a[j-gap]; j -= gap {
				a[j], a[j-gap] = a[j-gap], a[j]
			}
		}
	}
}

// nonFinite names a NaN or infinite float for an error message.
func nonFinite(f float64) string {
	switch {
	case f != f:
		return "NaN"
	case f > 0:
		return "+Inf"
	}
	return "-Inf"
}

// appendFloat formats like encoding/json: shortest representation, 'f'
// notation for moderate magnitudes, 'e' otherwise with a 1-digit exponent
// where possible.
func appendFloat(b []byte, f float64) []byte {
	abs := f
	if abs < 0 {
		abs = -abs
	}
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Turn e-07 into e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString quotes s like encoding/json without HTML escaping: invalid
// UTF-8 becomes \ufffd, control characters and U+2028/U+2029 are escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&15])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
