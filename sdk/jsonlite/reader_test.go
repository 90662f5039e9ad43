package jsonlite

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/assert"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/require"
)

// decodeOurs reads a whole document the way a caller of Value would.
func decodeOurs(data []byte) (any, error) {
	r := NewReader(data)
	v, err := r.Value()
	if err != nil {
		return nil, err
	}
	return v, r.End()
}

// decodeOracle is encoding/json's answer for the same document.
func decodeOracle(data []byte) (any, error) {
	var v any
	err := json.Unmarshal(data, &v)
	return v, err
}

// TestValueAgreesWithEncodingJSON compares acceptance and decoded values
// with encoding/json on inputs chosen for the corners of RFC 8259.
func TestValueAgreesWithEncodingJSON(t *testing.T) {
	inputs := []string{
		// accepted
		`null`, `true`, `false`, `0`, `-0`, `1`, `-1`, `0.5`, `-0.5e-3`, `1E3`, `1e+3`, `12345678901234567890`,
		`1.7976931348623157e308`, `5e-324`, `1e-400`, `""`, `"a"`, ` "x" `, "\t\r\n 1 \n",
		`"\"\\\/\b\f\n\r\t"`, `"\u0041\u00e9\u20ac"`, `"\uD83D\uDE00"`, `"\ud83d\ude00"`,
		`"\uD83D"`, `"\uDE00"`, `"\uD83Dx"`, `"\uD83D\u0041"`, `"\uD83D\uD83D\uDE00"`, `"\uDBFF\uDFFF"`,
		"\"\xff\"", "\"a\xc3\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"é€😀\"", "\"\u2028\"", "\"\x7f\"",
		`[]`, `[ ]`, `{}`, `{ }`, `[1,2,3]`, `[[[]]]`, `{"a":1}`, `{"a":1,"a":2}`, `{"":null}`,
		`{"a":[1,{"b":"c"}],"d":{"e":true,"f":null}}`, `[1e2, -0.0, 0e0, 0.0E-0]`, `{"\u00e9":1}`, "{\"\xff\":1}",
		// rejected
		``, ` `, `nul`, `nulll`, `tru`, `True`, `NaN`, `Infinity`, `-`, `+1`, `01`, `-01`, `1.`, `.5`, `1e`, `1e+`,
		`0x10`, `1 2`, `[1,]`, `[,1]`, `[1 2]`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{a:1}`, `{'a':1}`, `{"a":1,}`,
		`{,}`, `[`, `]`, `{`, `}`, `"abc`, `"\x"`, `"\u12"`, `"\u12G4"`, "\"a\tb\"", "\"a\nb\"", "\"\x00\"",
		`"\`, `1e400`, `-1e400`, `[1e999]`, "\xef\xbb\xbf1", `[1]x`, `{"a":1}}`, `/* c */ 1`, `"\U0041"`,
		`[1,2`, `{"a":1`, `{"a"`, `{"a":`, `truefalse`, "[\"a\"\x00]",
	}
	for _, in := range inputs {
		want, wantErr := decodeOracle([]byte(in))
		got, gotErr := decodeOurs([]byte(in))
		if wantErr != nil {
			assert.Error(t, gotErr, "input %q: encoding/json rejects it (%v)", in, wantErr)
			continue
		}
		if assert.NoError(t, gotErr, "input %q", in) {
			assert.Equal(t, want, got, "input %q", in)
		}
	}
}

// TestFixturesAgreeWithEncodingJSON decodes the real NNF kubectl outputs.
func TestFixturesAgreeWithEncodingJSON(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	// The agent's full fixture set, in a checkout of the whole repository.
	more, _ := filepath.Glob("../../testdata/nnf/fixtures/*.json")
	files = append(files, more...)
	more, _ = filepath.Glob("../../testdata/nnf/fixtures/*/*.json")
	files = append(files, more...)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		want, err := decodeOracle(data)
		require.NoError(t, err, f)
		got, err := decodeOurs(data)
		require.NoError(t, err, f)
		assert.Equal(t, want, got, f)
	}
}

type mountRef struct {
	Namespace, Name, Node string
	Types                 []string
	Ready                 []bool
}

// streamClientMounts is what a kubectl-nnf strategy does: pull the few
// fields it needs from a ClientMount list and skip everything else.
func streamClientMounts(data []byte) ([]mountRef, error) {
	r := NewReader(data)
	var out []mountRef
	err := r.Object(func(key string) error {
		if key != "items" {
			return nil
		}
		return r.Array(func(int) error {
			var m mountRef
			err := r.Object(func(key string) error {
				var err error
				switch key {
				case "metadata":
					err = r.Object(func(key string) error {
						var err error
						switch key {
						case "namespace":
							m.Namespace, err = r.String()
						case "name":
							m.Name, err = r.String()
						}
						return err
					})
				case "spec":
					err = r.Object(func(key string) error {
						var err error
						switch key {
						case "node":
							m.Node, err = r.String()
						case "mounts":
							err = r.Array(func(int) error {
								return r.Object(func(key string) error {
									if key != "type" {
										return nil
									}
									s, err := r.String()
									m.Types = append(m.Types, s)
									return err
								})
							})
						}
						return err
					})
				case "status":
					err = r.Object(func(key string) error {
						if key != "mounts" {
							return nil
						}
						return r.Array(func(int) error {
							return r.Object(func(key string) error {
								if key != "ready" {
									return nil
								}
								b, err := r.Bool()
								m.Ready = append(m.Ready, b)
								return err
							})
						})
					})
				}
				return err
			})
			out = append(out, m)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return out, r.End()
}

// clientMountList is what streamClientMounts reads of a ClientMount list,
// as structs for encoding/json: the oracle it is compared with.
type clientMountList struct {
	Items []struct {
		Metadata struct{ Namespace, Name string }
		Spec     struct {
			Node   string
			Mounts []struct{ Type string }
		}
		Status struct {
			Mounts []struct{ Ready bool }
		}
	}
}

func TestStreamingMatchesStructDecode(t *testing.T) {
	data, err := os.ReadFile("testdata/clientmounts-all.json")
	require.NoError(t, err)
	var doc clientMountList
	require.NoError(t, json.Unmarshal(data, &doc))
	var want []mountRef
	for _, it := range doc.Items {
		m := mountRef{Namespace: it.Metadata.Namespace, Name: it.Metadata.Name, Node: it.Spec.Node}
		for _, x := range it.Spec.Mounts {
			m.Types = append(m.Types, x.Type)
		}
		for _, x := range it.Status.Mounts {
			m.Ready = append(m.Ready, x.Ready)
		}
		want = append(want, m)
	}
	got, err := streamClientMounts(data)
	require.NoError(t, err)
	require.Len(t, got, 18)
	assert.Equal(t, want, got)

	// The same walk must notice damage anywhere in the document, also in
	// parts it skips, and say where.
	broken := []byte(strings.Replace(string(data), `"finalizers": [`, `"finalizers": [,`, 1))
	_, err = streamClientMounts(broken)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, strings.Index(string(broken), `[,`)+1, e.Offset)
	assert.Contains(t, err.Error(), "jsonlite: offset ")

	_, err = streamClientMounts(data[:len(data)-3])
	assert.ErrorContains(t, err, "unexpected end of input")
}

func TestTypedReads(t *testing.T) {
	r := NewReader([]byte(` {"s":"x","i":-42,"f":2.5,"b":true,"n":null,"a":[1,2],"big":9223372036854775807,"min":-9223372036854775808} `))
	got := map[string]any{}
	err := r.Object(func(key string) error {
		var v any
		var err error
		switch key {
		case "s":
			v, err = r.String()
		case "i", "big", "min":
			v, err = r.Int()
		case "f":
			v, err = r.Float()
		case "b":
			v, err = r.Bool()
		case "n":
			err = r.Null()
		case "a":
			var sum int64
			err = r.Array(func(i int) error {
				n, err := r.Int()
				sum += n * int64(i+1)
				return err
			})
			v = sum
		}
		got[key] = v
		return err
	})
	require.NoError(t, err)
	require.NoError(t, r.End())
	assert.Equal(t, map[string]any{"s": "x", "i": int64(-42), "f": 2.5, "b": true, "n": nil, "a": int64(5),
		"big": int64(math.MaxInt64), "min": int64(math.MinInt64)}, got)
}

// A value of the wrong kind is reported as ErrMismatch, consumes nothing,
// and lets the walk go on: the caller may treat the field as absent.
func TestMismatchIsNotSticky(t *testing.T) {
	r := NewReader([]byte(`{"ready":"true","n":1.5,"o":9223372036854775808,"x":1e999,"next":"ok"}`))
	var next string
	var mismatches []string
	err := r.Object(func(key string) error {
		var err error
		switch key {
		case "ready":
			_, err = r.Bool()
		case "n", "o":
			_, err = r.Int()
		case "x":
			_, err = r.Float()
		case "next":
			next, err = r.String()
		}
		if errors.Is(err, ErrMismatch) {
			mismatches = append(mismatches, err.Error())
			return nil
		}
		return err
	})
	require.NoError(t, err)
	require.NoError(t, r.End())
	assert.Equal(t, "ok", next)
	assert.Equal(t, []string{
		"jsonlite: offset 9: expected bool, found string",
		"jsonlite: offset 20: expected integer, found number 1.5",
		"jsonlite: offset 28: number 9223372036854775808 overflows int64",
		"jsonlite: offset 52: number 1e999 out of float64 range",
	}, mismatches)
}

func TestSyntaxErrorsStickAndCarryOffsets(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{`{"a":1 "b":2}`, "offset 7: expected ',' or '}', found '\"'"},
		{`[1,2,]`, "offset 5: invalid character ']' looking for beginning of value"},
		{`{"a":tru}`, "offset 5: invalid literal, expected true"},
		{`{"a":01}`, "offset 6: expected ',' or '}', found '1'"},
		{`{"a":-}`, "offset 6: invalid number: expected a digit"},
		{"[\"a\x01\"]", "offset 3: control character byte 0x01 in string"},
		{`["\q"]`, `offset 2: invalid escape 'q' in string`},
		{`["\u00zz"]`, `offset 2: invalid \u escape in string`},
		{`["abc`, "offset 1: unterminated string"},
		{`{1:2}`, "offset 1: expected string for object key, found '1'"},
		{`{"a" 1}`, "offset 5: expected ':' after object key"},
		{`[1] [2]`, "offset 4: invalid character '[' after top-level value"},
		{``, "offset 0: unexpected end of input, expected a value"},
		{`[1`, "offset 2: unexpected end of input, expected ',' or ']'"},
	} {
		_, err := decodeOurs([]byte(tc.in))
		require.Error(t, err, tc.in)
		assert.Equal(t, "jsonlite: "+tc.msg, err.Error(), tc.in)
		assert.NotErrorIs(t, err, ErrMismatch, tc.in)
	}

	r := NewReader([]byte(`[1,x]`))
	err := r.Skip()
	require.Error(t, err)
	assert.Equal(t, Invalid, r.Peek())
	assert.Equal(t, err, r.End())
	_, err2 := r.String()
	assert.Equal(t, err, err2)
}

func TestCallbackErrorIsReturnedAsIs(t *testing.T) {
	stop := errors.New("enough")
	r := NewReader([]byte(`{"a":[1,2,3],"b":2}`))
	calls := 0
	err := r.Object(func(string) error {
		return r.Array(func(i int) error {
			calls++
			if i == 1 {
				return stop
			}
			return nil
		})
	})
	assert.Same(t, stop, err)
	assert.Equal(t, 2, calls)
	assert.Same(t, stop, r.End(), "the Reader is mid-document: it must not pretend to be done")
}

func TestDepthLimit(t *testing.T) {
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	_, err := decodeOurs([]byte(ok))
	require.NoError(t, err)
	require.NoError(t, NewReader([]byte(ok)).Skip())

	deep := strings.Repeat(`{"a":[`, MaxDepth) + strings.Repeat("]}", MaxDepth)
	_, err = decodeOurs([]byte(deep))
	assert.ErrorContains(t, err, "nesting deeper than 1000 levels")
	assert.ErrorContains(t, NewReader([]byte(deep)).Skip(), "nesting deeper")

	// Hostile depth far beyond the limit fails fast instead of exhausting
	// the stack.
	_, err = decodeOurs([]byte(strings.Repeat("[", 1<<20)))
	assert.ErrorContains(t, err, "nesting deeper")
}

func TestPeekAndRaw(t *testing.T) {
	r := NewReader([]byte(` [ {"a" : [1, "x"]} , -3, "s", true, null ] `))
	assert.Equal(t, Array, r.Peek())
	var kinds []Kind
	var raws []string
	require.NoError(t, r.Array(func(int) error {
		kinds = append(kinds, r.Peek())
		raw, err := r.Raw()
		raws = append(raws, string(raw))
		return err
	}))
	require.NoError(t, r.End())
	assert.Equal(t, []Kind{Object, Number, String, Bool, Null}, kinds)
	assert.Equal(t, []string{`{"a" : [1, "x"]}`, `-3`, `"s"`, `true`, `null`}, raws)
	assert.Equal(t, "object", Object.String())
	assert.Equal(t, "Kind(42)", Kind(42).String())
	assert.Equal(t, Invalid, NewReader([]byte(" ")).Peek())
	assert.Equal(t, Invalid, NewReader([]byte("x")).Peek())
}

// Strings must not alias the input, or a plugin could keep a multi-MB
// payload alive (or see it change) through a tiny name.
func TestStringsDoNotAliasInput(t *testing.T) {
	data := []byte(`["abc","d\u00e9f"]`)
	var got []string
	r := NewReader(data)
	require.NoError(t, r.Array(func(int) error {
		s, err := r.String()
		got = append(got, s)
		return err
	}))
	for i := range data {
		data[i] = 'X'
	}
	assert.Equal(t, []string{"abc", "déf"}, got)
}

// hasLongNumber reports a run of more than 780 digits, where strconv (and
// so encoding/json) may be wrong; checkParseFloat checks those exactly.
func hasLongNumber(data []byte) bool {
	run := 0
	for _, c := range data {
		if c >= '0' && c <= '9' {
			run++
			if run > 780 {
				return true
			}
		} else if c != '.' {
			run = 0
		}
	}
	return false
}

// FuzzReader checks the Reader against encoding/json: both accept or both
// reject, and accepted documents decode to equal values. The only allowed
// difference is the nesting limit (ours is 1000, encoding/json's 10000).
func FuzzReader(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}],"c":"\u00e9\ud83d\ude00"}`, `[1e2,-0.5,true,false]`, `"\uD83D x"`,
		"\"\xff\"", `{"a":1,"a":2}`, `[[[[]]]]`, `1e400`, `01`, `[1,]`} {
		f.Add([]byte(s))
	}
	// Small seeds only: the fuzzer minimizes every new input it finds, and
	// minimizing mutations of a 20 KB fixture eats the whole run.
	f.Add([]byte(`{"metadata":{"name":"x","labels":{"a/b":"c"}},"spec":{"mounts":[{"type":"gfs2","ready":true}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := decodeOracle(data)
		got, gotErr := decodeOurs(data)
		if gotErr != nil && strings.Contains(gotErr.Error(), "nesting deeper") {
			return
		}
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("input %q: encoding/json err=%v, jsonlite err=%v", data, wantErr, gotErr)
		}
		// reflect.DeepEqual, not require.Equal: formatting a diff of two
		// large documents could outlast the fuzzing deadline and hide
		// the failure.
		if wantErr == nil && !hasLongNumber(data) && !reflect.DeepEqual(want, got) { // see checkParseFloat
			t.Fatalf("input %.2000q: values differ", data)
		}
		// What was read writes back as encoding/json writes it, and reads
		// back equal.
		if gotErr == nil {
			w := NewWriter(nil)
			if err := w.Value(got); err != nil {
				t.Fatalf("input %q: writing it back: %v", data, err)
			}
			if out := string(w.Bytes()); out != oracleMarshal(t, got) {
				t.Fatalf("input %q: wrote %q, encoding/json writes %q", data, out, oracleMarshal(t, got))
			}
			again, err := decodeOurs(w.Bytes())
			if err != nil || !reflect.DeepEqual(got, again) {
				t.Fatalf("input %q: round trip through %q: %v", data, w.Bytes(), err)
			}
		}
		// Skip must agree with Value on validity (Skip does not convert
		// numbers, so it accepts 1e400, which Value cannot represent).
		if errors.Is(gotErr, ErrMismatch) {
			return
		}
		r := NewReader(data)
		skipErr := r.Skip()
		if skipErr == nil {
			skipErr = r.End()
		}
		if (skipErr == nil) != (gotErr == nil) {
			t.Fatalf("input %q: Skip err=%v, Value err=%v", data, skipErr, gotErr)
		}
	})
}
