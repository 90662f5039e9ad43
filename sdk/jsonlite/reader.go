// Package jsonlite is a small JSON codec for WebAssembly guests: a pull
// Reader and an append-style Writer.
//
// It exists because guest size is fence latency (about 10 ms per MB of wasm
// on every fence) and encoding/json drags in reflect and fmt (+1.4 MB). This
// package imports only errors, math, strconv (for formatting floats),
// unicode/utf8 and the SDK's intfmt; a test keeps it that way.
//
// The Reader follows RFC 8259 and agrees with encoding/json on what it
// accepts and on the values it produces (the fuzz test checks both), except:
//   - nesting is limited to MaxDepth (1000) levels, not 10000;
//   - Int, unlike Value, rejects numbers with a fraction or exponent;
//   - numbers with more than 800 significant digits convert correctly,
//     where strconv.ParseFloat, and so encoding/json, can be wrong
//     (golang/go#42436).
//
// Like encoding/json, the Reader replaces invalid UTF-8 and unpaired UTF-16
// surrogates in strings with U+FFFD and rejects raw control characters.
//
// Reading is pulled by the caller, so a plugin decodes only the fields it
// needs and never builds a tree of a whole kubectl document:
//
//	r := jsonlite.NewReader(data)
//	err := r.Object(func(key string) error {
//		if key != "items" {
//			return nil // unread values are skipped (and validated)
//		}
//		return r.Array(func(i int) error { ... })
//	})
//	if err == nil {
//		err = r.End()
//	}
package jsonlite

import (
	"errors"
	"unicode/utf8"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/intfmt"
)

// MaxDepth is how deeply arrays and objects may nest. It bounds the guest
// stack on hostile input; kubectl output nests about 10 levels.
const MaxDepth = 1000

// Kind is the kind of a JSON value.
type Kind int

const (
	Invalid Kind = iota // not a value: end of input, a syntax error, or a stray byte
	Null
	Bool
	Number
	String
	Array
	Object
)

var kindNames = [...]string{"invalid", "null", "bool", "number", "string", "array", "object"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "Kind(" + intfmt.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// ErrMismatch is wrapped by the error a typed read (String, Int, ...) returns
// when the next value is valid JSON but of another kind, or does not fit the
// Go type (an integer overflowing int64, a float beyond float64). Such an
// error does not consume the value and does not stop the Reader, so a caller
// may treat a mistyped field as absent:
//
//	name, err := r.String() // inside an Object callback
//	if errors.Is(err, jsonlite.ErrMismatch) { /* ignore; Object skips it */ }
var ErrMismatch = errors.New("value of another kind or range")

// Error is a Reader error: where it happened and what was expected.
type Error struct {
	Offset   int // byte offset into the input
	Msg      string
	mismatch bool
}

func (e *Error) Error() string {
	return "jsonlite: offset " + intfmt.Itoa(e.Offset) + ": " + e.Msg
}

// Unwrap returns ErrMismatch for kind and range mismatches, else nil.
func (e *Error) Unwrap() error {
	if e.mismatch {
		return ErrMismatch
	}
	return nil
}

// Reader reads one JSON document from a byte slice, one value at a time.
//
// Syntax errors are sticky: after the first one every method returns it
// (Peek returns Invalid). So is any error returned by an Object or Array
// callback, because the Reader is then positioned inside that value.
// Kind mismatches (ErrMismatch) are not sticky and consume nothing.
//
// Strings returned by the Reader never alias the input.
type Reader struct {
	data  []byte
	pos   int
	depth int
	err   error
	// keys caches object keys by hash, so that a repeated key is allocated
	// once: kubectl output repeats a few dozen keys thousands of times,
	// and allocation is what costs most inside wasm. (A fixed table
	// rather than a map: no map code in guests that use no maps, and
	// bounded memory whatever the document.)
	keys *[keyCacheSize]string
}

const keyCacheSize = 256

// NewReader returns a Reader over data. The Reader does not modify data.
func NewReader(data []byte) *Reader { return &Reader{data: data} }

// Offset returns the byte offset of the next unread byte.
func (r *Reader) Offset() int { return r.pos }

// Err returns the sticky error, if any.
func (r *Reader) Err() error { return r.err }

func (r *Reader) skipSpace() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// fail records err as the sticky error (the first one wins) and returns it.
func (r *Reader) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return r.err
}

func (r *Reader) syntax(off int, msg string) error {
	return r.fail(&Error{Offset: off, Msg: msg})
}

// Peek returns the kind of the next value without consuming it. It skips
// whitespace. Invalid means the next byte cannot start a value (or input
// ended, or a syntax error already happened).
func (r *Reader) Peek() Kind {
	if r.err != nil {
		return Invalid
	}
	r.skipSpace()
	if r.pos >= len(r.data) {
		return Invalid
	}
	switch c := r.data[r.pos]; c {
	case '{':
		return Object
	case '[':
		return Array
	case '"':
		return String
	case 't', 'f':
		return Bool
	case 'n':
		return Null
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return Number
		}
		return Invalid
	}
}

// expect positions the Reader on a value of kind want. For a value of another
// kind it returns a non-sticky ErrMismatch; where no value can start it
// returns a sticky syntax error.
func (r *Reader) expect(want Kind) error {
	got := r.Peek()
	if got == want {
		return nil
	}
	if got == Invalid {
		return r.noValue()
	}
	return &Error{Offset: r.pos, Msg: "expected " + want.String() + ", found " + got.String(), mismatch: true}
}

// noValue explains why no value starts at r.pos.
func (r *Reader) noValue() error {
	if r.err != nil {
		return r.err
	}
	if r.pos >= len(r.data) {
		return r.syntax(r.pos, "unexpected end of input, expected a value")
	}
	return r.syntax(r.pos, "invalid character "+quoteByte(r.data[r.pos])+" looking for beginning of value")
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	const hex = "0123456789abcdef"
	return "byte 0x" + string([]byte{hex[c>>4], hex[c&15]})
}

// enter consumes the opening bracket of a container and counts its depth.
func (r *Reader) enter() error {
	if r.depth >= MaxDepth {
		return r.syntax(r.pos, "nesting deeper than 1000 levels")
	}
	r.depth++
	r.pos++
	r.skipSpace()
	return nil
}

// next consumes what follows a member or element: ',' (more: true) or the
// closing byte.
func (r *Reader) next(closing byte) (more bool, err error) {
	r.skipSpace()
	if r.pos >= len(r.data) {
		return false, r.syntax(r.pos, "unexpected end of input, expected ',' or '"+string(rune(closing))+"'")
	}
	switch r.data[r.pos] {
	case ',':
		r.pos++
		return true, nil
	case closing:
		r.pos++
		r.depth--
		return false, nil
	}
	return false, r.syntax(r.pos, "expected ',' or '"+string(rune(closing))+"', found "+quoteByte(r.data[r.pos]))
}

// open starts reading a container of kind k: it checks the kind, enters one
// nesting level, and reports an empty container (already closed again) so
// the caller has no member loop to run.
func (r *Reader) open(k Kind, closing byte) (empty bool, err error) {
	if err := r.expect(k); err != nil {
		return false, err
	}
	if err := r.enter(); err != nil {
		return false, err
	}
	if r.pos < len(r.data) && r.data[r.pos] == closing {
		r.pos++
		r.depth--
		return true, nil
	}
	return false, nil
}

// Object reads an object, calling fn with each member's key while the Reader
// is positioned on the member's value. fn reads the value with any method of
// the Reader; if fn consumes nothing, Object skips (and validates) the value,
// so fn may simply ignore keys it does not need. A non-nil error from fn
// stops the walk, sticks, and is returned as is. Duplicate keys are passed
// to fn as often as they occur.
func (r *Reader) Object(fn func(key string) error) error {
	if empty, err := r.open(Object, '}'); empty || err != nil {
		return err
	}
	for {
		r.skipSpace()
		if r.pos >= len(r.data) || r.data[r.pos] != '"' {
			if r.pos >= len(r.data) {
				return r.syntax(r.pos, "unexpected end of input, expected an object key")
			}
			return r.syntax(r.pos, "expected string for object key, found "+quoteByte(r.data[r.pos]))
		}
		key, err := r.readKey()
		if err != nil {
			return err
		}
		r.skipSpace()
		if r.pos >= len(r.data) || r.data[r.pos] != ':' {
			return r.syntax(r.pos, "expected ':' after object key")
		}
		r.pos++
		if err := r.member(func() error { return fn(key) }); err != nil {
			return err
		}
		more, err := r.next('}')
		if !more {
			return err
		}
	}
}

// Array reads an array, calling fn with each element's index while the
// Reader is positioned on the element. As with Object, an element fn does
// not consume is skipped, and an error from fn stops the walk and sticks.
func (r *Reader) Array(fn func(i int) error) error {
	if empty, err := r.open(Array, ']'); empty || err != nil {
		return err
	}
	for i := 0; ; i++ {
		if err := r.member(func() error { return fn(i) }); err != nil {
			return err
		}
		more, err := r.next(']')
		if !more {
			return err
		}
	}
}

// member runs a callback positioned on a value and skips the value if the
// callback left it unread.
func (r *Reader) member(fn func() error) error {
	r.skipSpace()
	start := r.pos
	if err := fn(); err != nil {
		return r.fail(err)
	}
	if r.err != nil {
		return r.err
	}
	if r.pos == start {
		return r.Skip()
	}
	return nil
}

// String reads a string value.
func (r *Reader) String() (string, error) {
	if err := r.expect(String); err != nil {
		return "", err
	}
	return r.readString()
}

// readKey is readString for object keys, through the key cache.
func (r *Reader) readKey() (string, error) {
	start := r.pos + 1
	h := uint32(2166136261) // FNV-1a
	for i := start; i < len(r.data); i++ {
		c := r.data[i]
		if c == '"' {
			b := r.data[start:i]
			if r.keys == nil {
				r.keys = new([keyCacheSize]string)
			}
			slot := &r.keys[h%keyCacheSize]
			if *slot != string(b) { // the comparison does not allocate
				*slot = string(b)
			}
			r.pos = i + 1
			return *slot, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		h = (h ^ uint32(c)) * 16777619
	}
	return r.readString()
}

// readString decodes the string starting at the quote at r.pos.
func (r *Reader) readString() (string, error) {
	start := r.pos + 1
	// Fast path: plain ASCII without escapes, the common case in kubectl
	// and pcs output.
	for i := start; i < len(r.data); i++ {
		c := r.data[i]
		if c == '"' {
			r.pos = i + 1
			return string(r.data[start:i]), nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return r.readStringSlow(start, i)
		}
	}
	return "", r.syntax(start-1, "unterminated string")
}

func (r *Reader) readStringSlow(start, i int) (string, error) {
	buf := make([]byte, 0, i-start+16)
	buf = append(buf, r.data[start:i]...)
	for i < len(r.data) {
		c := r.data[i]
		switch {
		case c == '"':
			r.pos = i + 1
			return string(buf), nil
		case c < 0x20:
			return "", r.syntax(i, "control character "+quoteByte(c)+" in string")
		case c == '\\':
			if i+1 >= len(r.data) {
				return "", r.syntax(start-1, "unterminated string")
			}
			switch e := r.data[i+1]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				rr, ok := hex4(r.data, i+2)
				if !ok {
					return "", r.syntax(i, "invalid \\u escape in string")
				}
				i += 6
				if rr >= 0xD800 && rr < 0xDC00 {
					// A high surrogate counts only if a low one follows;
					// otherwise it becomes U+FFFD and whatever follows is
					// decoded on its own, as encoding/json does.
					if i+1 < len(r.data) && r.data[i] == '\\' && r.data[i+1] == 'u' {
						if lo, ok := hex4(r.data, i+2); ok && lo >= 0xDC00 && lo < 0xE000 {
							rr = 0x10000 + (rr-0xD800)<<10 + (lo - 0xDC00)
							i += 6
						}
					}
				}
				if rr >= 0xD800 && rr < 0xE000 {
					rr = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, rr)
				continue
			default:
				return "", r.syntax(i, "invalid escape "+quoteByte(e)+" in string")
			}
			i += 2
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			rr, size := utf8.DecodeRune(r.data[i:])
			if rr == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, r.data[i:i+size]...)
			}
			i += size
		}
	}
	return "", r.syntax(start-1, "unterminated string")
}

// hex4 decodes the four hex digits at data[i:].
func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var v rune
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}

// skipString validates the string at r.pos without decoding it.
func (r *Reader) skipString() error {
	start := r.pos
	for i := r.pos + 1; i < len(r.data); {
		c := r.data[i]
		switch {
		case c == '"':
			r.pos = i + 1
			return nil
		case c < 0x20:
			return r.syntax(i, "control character "+quoteByte(c)+" in string")
		case c == '\\':
			if i+1 >= len(r.data) {
				return r.syntax(start, "unterminated string")
			}
			switch e := r.data[i+1]; e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(r.data, i+2); !ok {
					return r.syntax(i, "invalid \\u escape in string")
				}
				i += 6
			default:
				return r.syntax(i, "invalid escape "+quoteByte(e)+" in string")
			}
		default:
			i++
		}
	}
	return r.syntax(start, "unterminated string")
}

// Bool reads true or false.
func (r *Reader) Bool() (bool, error) {
	if err := r.expect(Bool); err != nil {
		return false, err
	}
	if r.data[r.pos] == 't' {
		return true, r.literal("true")
	}
	return false, r.literal("false")
}

// Null reads null.
func (r *Reader) Null() error {
	if err := r.expect(Null); err != nil {
		return err
	}
	return r.literal("null")
}

func (r *Reader) literal(word string) error {
	if len(r.data)-r.pos < len(word) || string(r.data[r.pos:r.pos+len(word)]) != word {
		return r.syntax(r.pos, "invalid literal, expected "+word)
	}
	r.pos += len(word)
	return nil
}

// scanNumber validates the number at r.pos against the RFC 8259 grammar and
// returns where it ends and whether it is a plain integer. It does not move
// the Reader.
func (r *Reader) scanNumber() (end int, integer bool, err error) {
	d, i := r.data, r.pos
	digits := func() int {
		n := 0
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case digits() == 0:
		return 0, false, r.syntax(i, "invalid number: expected a digit")
	}
	integer = true
	if i < len(d) && d[i] == '.' {
		integer = false
		i++
		if digits() == 0 {
			return 0, false, r.syntax(i, "invalid number: expected a digit after '.'")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		integer = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, false, r.syntax(i, "invalid number: expected a digit in exponent")
		}
	}
	return i, integer, nil
}

// Int reads a number that is a plain integer (no fraction, no exponent)
// fitting in int64. Other numbers give a non-sticky ErrMismatch.
func (r *Reader) Int() (int64, error) {
	if err := r.expect(Number); err != nil {
		return 0, err
	}
	end, integer, err := r.scanNumber()
	if err != nil {
		return 0, err
	}
	tok := r.data[r.pos:end]
	if !integer {
		return 0, &Error{Offset: r.pos, Msg: "expected integer, found number " + string(tok), mismatch: true}
	}
	neg := tok[0] == '-'
	if neg {
		tok = tok[1:]
	}
	// Accumulate negatively so that math.MinInt64 fits.
	const minInt64 = -1 << 63
	var v int64
	for _, c := range tok {
		if v < minInt64/10 || v*10 < minInt64+int64(c-'0') {
			return 0, &Error{Offset: r.pos, Msg: "number " + string(r.data[r.pos:end]) + " overflows int64", mismatch: true}
		}
		v = v*10 - int64(c-'0')
	}
	if !neg {
		if v == minInt64 {
			return 0, &Error{Offset: r.pos, Msg: "number " + string(r.data[r.pos:end]) + " overflows int64", mismatch: true}
		}
		v = -v
	}
	r.pos = end
	return v, nil
}

// Float reads any number as a float64. A number beyond float64's range gives
// a non-sticky ErrMismatch (encoding/json rejects it too).
func (r *Reader) Float() (float64, error) {
	if err := r.expect(Number); err != nil {
		return 0, err
	}
	end, _, err := r.scanNumber()
	if err != nil {
		return 0, err
	}
	f, ok := parseFloat(r.data[r.pos:end])
	if !ok {
		return 0, &Error{Offset: r.pos, Msg: "number " + string(r.data[r.pos:end]) + " out of float64 range", mismatch: true}
	}
	r.pos = end
	return f, nil
}

// Skip consumes the next value of any kind, validating it completely but
// decoding nothing.
func (r *Reader) Skip() error {
	switch r.Peek() {
	case Object:
		if err := r.enter(); err != nil {
			return err
		}
		if r.pos < len(r.data) && r.data[r.pos] == '}' {
			r.pos++
			r.depth--
			return nil
		}
		for {
			r.skipSpace()
			if r.pos >= len(r.data) || r.data[r.pos] != '"' {
				return r.syntax(r.pos, "expected string for object key")
			}
			if err := r.skipString(); err != nil {
				return err
			}
			r.skipSpace()
			if r.pos >= len(r.data) || r.data[r.pos] != ':' {
				return r.syntax(r.pos, "expected ':' after object key")
			}
			r.pos++
			if err := r.Skip(); err != nil {
				return err
			}
			if more, err := r.next('}'); !more {
				return err
			}
		}
	case Array:
		if err := r.enter(); err != nil {
			return err
		}
		if r.pos < len(r.data) && r.data[r.pos] == ']' {
			r.pos++
			r.depth--
			return nil
		}
		for {
			if err := r.Skip(); err != nil {
				return err
			}
			if more, err := r.next(']'); !more {
				return err
			}
		}
	case String:
		return r.skipString()
	case Number:
		end, _, err := r.scanNumber()
		if err == nil {
			r.pos = end
		}
		return err
	case Bool:
		if r.data[r.pos] == 't' {
			return r.literal("true")
		}
		return r.literal("false")
	case Null:
		return r.literal("null")
	}
	return r.noValue()
}

// Raw consumes the next value and returns its exact bytes (validated,
// without surrounding whitespace). The slice aliases the input.
func (r *Reader) Raw() ([]byte, error) {
	r.Peek()
	start := r.pos
	if err := r.Skip(); err != nil {
		return nil, err
	}
	return r.data[start:r.pos], nil
}

// Value reads the next value into the types encoding/json uses for an any:
// map[string]any, []any, string, float64, bool or nil. Use it for small
// documents such as a plugin's config; stream large ones with Object/Array.
func (r *Reader) Value() (any, error) {
	switch r.Peek() {
	case Object:
		m := map[string]any{}
		err := r.Object(func(key string) error {
			v, err := r.Value()
			m[key] = v
			return err
		})
		if err != nil {
			return nil, err
		}
		return m, nil
	case Array:
		list := []any{}
		err := r.Array(func(int) error {
			v, err := r.Value()
			list = append(list, v)
			return err
		})
		if err != nil {
			return nil, err
		}
		return list, nil
	case String:
		return r.String()
	case Number:
		f, err := r.Float()
		if err != nil {
			return nil, r.fail(err) // a whole-document decode cannot skip it
		}
		return f, nil
	case Bool:
		return r.Bool()
	case Null:
		return nil, r.Null()
	}
	return nil, r.noValue()
}

// End checks that only whitespace follows the value(s) read, and returns the
// sticky error if there is one. Call it after reading a whole document.
func (r *Reader) End() error {
	if r.err != nil {
		return r.err
	}
	r.skipSpace()
	if r.pos < len(r.data) {
		return r.syntax(r.pos, "invalid character "+quoteByte(r.data[r.pos])+" after top-level value")
	}
	return nil
}
