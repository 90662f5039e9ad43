package jsonlite

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/assert"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/require"
)

// oracleMarshal is encoding/json's output without HTML escaping, which is
// the Writer's contract.
func oracleMarshal(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func writeValue(t testing.TB, v any) string {
	t.Helper()
	w := NewWriter(nil)
	require.NoError(t, w.Value(v))
	require.NoError(t, w.Err())
	return string(w.Bytes())
}

var trickyStrings = []string{
	"", "plain", `quote " and \ backslash`, "/slash", "<tag>&amp;", "\b\f\n\r\t", "\x00\x01\x1f\x7f",
	"é€😀", "\u2028\u2029", "bad \xff utf8", "truncated \xe2\x82", "surrogate \xed\xa0\x80", "\xc0\xaf",
	"too big \xf4\x90\x80\x80", "\ufffd", "mixed \x00é\xff\u2028x",
}

func TestWriterStringsMatchEncodingJSON(t *testing.T) {
	for _, s := range trickyStrings {
		assert.Equal(t, oracleMarshal(t, s), writeValue(t, s), "%q", s)
	}
}

func TestWriterNumbersMatchEncodingJSON(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1.5, 100, 1e6, 1e20, 1e21, 123456789012345678901234.0,
		1e-6, 1e-7, 9.99e-7, 1.234e-10, 5e-324, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
		3.141592653589793, 1e100, -2.5e-300, 0.000001, 0.0000012345}
	for _, f := range floats {
		assert.Equal(t, oracleMarshal(t, f), writeValue(t, f), "%v", f)
	}
	for _, n := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64} {
		assert.Equal(t, oracleMarshal(t, n), writeValue(t, n))
	}
	assert.Equal(t, "42", writeValue(t, 42))
}

func TestWriterValueMatchesEncodingJSON(t *testing.T) {
	v := map[string]any{
		"z": []string{"b", "a"}, "a": nil, "m": map[string]any{"y": 1.5, "x": []any{true, false, nil, "s", int64(7), 3}},
		"list": []map[string]any{{"k": "v"}, {}, nil}, "empty": []any{}, "nilslice": []string(nil), "nilany": []any(nil), "nilmaps": []map[string]any(nil), "nilmap": map[string]string(nil), "e": map[string]any{},
		"labels": map[string]string{"b": "2", "a": "1"}, "é": "\u2028",
	}
	assert.Equal(t, oracleMarshal(t, v), writeValue(t, v))
}

// Every fixture decoded by the Reader and written back by the Writer gives
// the bytes encoding/json gives for the same value (keys sorted on both
// sides), so the codec round-trips real kubectl output.
func TestFixtureRoundTrip(t *testing.T) {
	for _, f := range []string{"testdata/clientmounts-all.json", "testdata/nnfstorages.json"} {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		v, err := decodeOurs(data)
		require.NoError(t, err)
		out := writeValue(t, v)
		assert.Equal(t, oracleMarshal(t, v), out, f)
		again, err := decodeOurs([]byte(out))
		require.NoError(t, err)
		assert.Equal(t, v, again, f)
	}
}

func TestWriterStreamingAPI(t *testing.T) {
	w := NewWriter(make([]byte, 0, 64))
	w.ObjectStart()
	w.Key("strings")
	w.ArrayStart()
	w.String("a")
	w.String("b")
	w.ArrayEnd()
	w.Key("details")
	w.ObjectStart()
	w.Key("n")
	w.Int(-3)
	w.Key("f")
	w.Float(0.25)
	w.Key("ok")
	w.Bool(true)
	w.Key("none")
	w.Null()
	w.Key("nested")
	w.ArrayStart()
	w.ArrayStart()
	w.ArrayEnd()
	w.ObjectStart()
	w.ObjectEnd()
	w.ArrayEnd()
	w.ObjectEnd()
	w.Key("error")
	require.NoError(t, w.Value("x"))
	w.ObjectEnd()
	require.NoError(t, w.Err())
	const want = `{"strings":["a","b"],"details":{"n":-3,"f":0.25,"ok":true,"none":null,"nested":[[],{}]},"error":"x"}`
	assert.Equal(t, want, string(w.Bytes()))
	assert.True(t, json.Valid(w.Bytes()))

	w.Reset()
	w.Int(1)
	assert.Equal(t, "1", string(w.Bytes()))

	// NewWriter appends to what buf already holds.
	w = NewWriter([]byte("prefix:"))
	w.Bool(false)
	assert.Equal(t, "prefix:false", string(w.Bytes()))
}

// Calls out of grammar are refused and reported; what was written stays a
// valid JSON prefix.
func TestWriterMisuse(t *testing.T) {
	for name, tc := range map[string]struct {
		write func(w *Writer)
		want  string
		err   string
	}{
		"value without key":   {func(w *Writer) { w.ObjectStart(); w.Int(1); w.ObjectEnd() }, `{}`, "value in object without a key"},
		"key in array":        {func(w *Writer) { w.ArrayStart(); w.Key("k"); w.ArrayEnd() }, `[]`, "key outside an object"},
		"key at top":          {func(w *Writer) { w.Key("k") }, ``, "key outside an object"},
		"two keys":            {func(w *Writer) { w.ObjectStart(); w.Key("a"); w.Key("b") }, `{"a":`, "without a value"},
		"end without start":   {func(w *Writer) { w.ArrayEnd() }, ``, "unexpected ]"},
		"mismatched end":      {func(w *Writer) { w.ArrayStart(); w.ObjectEnd(); w.ArrayEnd() }, `[]`, "unexpected }"},
		"end after key":       {func(w *Writer) { w.ObjectStart(); w.Key("a"); w.ObjectEnd() }, `{"a":`, "unexpected }"},
		"two top values":      {func(w *Writer) { w.Int(1); w.Int(2) }, `1`, "second top-level value"},
		"unclosed":            {func(w *Writer) { w.ArrayStart(); w.ObjectStart() }, `[{`, "2 unclosed"},
		"NaN":                 {func(w *Writer) { w.ArrayStart(); w.Float(math.NaN()); w.ArrayEnd() }, `[null]`, "unsupported float value NaN"},
		"Inf":                 {func(w *Writer) { w.Float(math.Inf(-1)) }, `null`, "unsupported float value -Inf"},
		"unsupported type":    {func(w *Writer) { w.ArrayStart(); w.Int(1); _ = w.Value([]any{"x", struct{}{}}); w.ArrayEnd() }, `[1]`, "unsupported value type"},
		"NaN inside Value":    {func(w *Writer) { _ = w.Value(map[string]any{"a": math.NaN()}) }, ``, "unsupported float value NaN"},
		"nested unsupported":  {func(w *Writer) { _ = w.Value(map[string]any{"a": []map[string]any{{"b": uint(1)}}}) }, ``, "unsupported value type"},
		"value after misuse":  {func(w *Writer) { w.ArrayEnd(); _ = w.Value("x") }, `"x"`, "unexpected ]"},
		"float at wrong spot": {func(w *Writer) { w.ObjectStart(); w.Float(1); w.ObjectEnd() }, `{}`, "value in object without a key"},
	} {
		w := NewWriter(nil)
		tc.write(w)
		assert.Equal(t, tc.want, string(w.Bytes()), name)
		assert.ErrorContains(t, w.Err(), tc.err, name)
	}
}

func TestWriterValueTooDeep(t *testing.T) {
	var v any = "leaf"
	for range MaxDepth + 2 {
		v = []any{v}
	}
	w := NewWriter(nil)
	assert.ErrorContains(t, w.Value(v), "nested deeper")
	assert.Empty(t, w.Bytes())
}

// FuzzWriterString checks string escaping against encoding/json and that
// the Reader reads back what encoding/json would.
func FuzzWriterString(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w := NewWriter(nil)
		w.String(s)
		got := w.Bytes()
		require.Equal(t, oracleMarshal(t, s), string(got))
		var want string
		require.NoError(t, json.Unmarshal(got, &want))
		back, err := NewReader(got).String()
		require.NoError(t, err)
		require.Equal(t, want, back)
	})
}

// FuzzWriterFloat checks float formatting against encoding/json and that
// the Reader reads the exact value back.
func FuzzWriterFloat(f *testing.F) {
	for _, x := range []float64{0, 1e21, 1e-7, 123.456, -5e-324} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		got := writeValue(t, x)
		require.Equal(t, oracleMarshal(t, x), got)
		back, err := NewReader([]byte(got)).Float()
		require.NoError(t, err)
		require.Equal(t, x, back)
	})
}

// Many keys, to exercise the Shell sort beyond the trivial sizes.
func TestWriterSortsManyKeys(t *testing.T) {
	m := map[string]any{}
	labels := map[string]string{}
	for i := range 1000 {
		k := string(rune('a'+i%26)) + strconv.Itoa(i*7919%1000)
		m[k] = i
		labels[k] = k
	}
	m["labels"] = labels
	assert.Equal(t, oracleMarshal(t, m), writeValue(t, m))
}
