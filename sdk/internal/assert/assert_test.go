package assert

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

type recorder struct{ failures []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// Each assertion passes on what it should and fails, saying why, on what it
// should not: the SDK's tests are only as good as these.
func TestAssertionsPassAndFailAsTestifys(t *testing.T) {
	type pt struct{ A int }
	p := &pt{1}
	pass := map[string]func(T) bool{
		"Equal":      func(r T) bool { return Equal(r, []byte("a"), []byte("a")) && Equal(r, pt{1}, pt{1}) },
		"Same":       func(r T) bool { return Same(r, p, p) },
		"True/False": func(r T) bool { return True(r, true) && False(r, false) },
		"Nil/NotNil": func(r T) bool { return Nil(r, nil) && Nil(r, (*pt)(nil)) && NotNil(r, p) },
		"Empty":      func(r T) bool { return Empty(r, "") && Empty(r, []int{}) && Empty(r, map[int]int{}) && Empty(r, 0) },
		"NotEmpty":   func(r T) bool { return NotEmpty(r, "x") && NotEmpty(r, []int{0}) },
		"Len":        func(r T) bool { return Len(r, []int{1, 2}, 2) && Len(r, "abc", 3) },
		"Contains": func(r T) bool {
			return Contains(r, "abc", "b") && Contains(r, []string{"x"}, "x") && Contains(r, map[string]int{"k": 1}, "k")
		},
		"NotContains":   func(r T) bool { return NotContains(r, "abc", "z") },
		"ElementsMatch": func(r T) bool { return ElementsMatch(r, []int{1, 2, 2}, []int{2, 1, 2}) },
		"errors":        func(r T) bool { return NoError(r, nil) && Error(r, io.EOF) && EqualError(r, io.EOF, "EOF") },
		"ErrorContains": func(r T) bool { return ErrorContains(r, errors.New("a b c"), "b") },
		"ErrorIs/As": func(r T) bool {
			var e *wrapped
			return ErrorIs(r, &wrapped{io.EOF}, io.EOF) && NotErrorIs(r, io.EOF, io.ErrClosedPipe) && ErrorAs(r, &wrapped{}, &e)
		},
		"JSONEq":          func(r T) bool { return JSONEq(r, `{"a":1,"b":[2]}`, `{ "b":[2], "a":1 }`) },
		"PanicsWithValue": func(r T) bool { return PanicsWithValue(r, "boom", func() { panic("boom") }) },
		"ordered": func(r T) bool {
			return Less(r, 1, 2) && Greater(r, 2.5, 1.0) && GreaterOrEqual(r, uint(2), uint(2))
		},
	}
	fail := map[string]func(T) bool{
		"Equal":           func(r T) bool { return Equal(r, 1, int64(1)) },
		"Same":            func(r T) bool { return Same(r, p, &pt{1}) },
		"True":            func(r T) bool { return True(r, false) },
		"False":           func(r T) bool { return False(r, true) },
		"Nil":             func(r T) bool { return Nil(r, p) },
		"NotNil":          func(r T) bool { return NotNil(r, (*pt)(nil)) },
		"Empty":           func(r T) bool { return Empty(r, []int{1}) },
		"NotEmpty":        func(r T) bool { return NotEmpty(r, "") },
		"Len":             func(r T) bool { return Len(r, []int{1}, 2) },
		"Contains":        func(r T) bool { return Contains(r, []string{"x"}, "y") },
		"NotContains":     func(r T) bool { return NotContains(r, "abc", "b") },
		"ElementsMatch":   func(r T) bool { return ElementsMatch(r, []int{1, 2}, []int{1, 1}) },
		"NoError":         func(r T) bool { return NoError(r, io.EOF) },
		"Error":           func(r T) bool { return Error(r, nil) },
		"EqualError":      func(r T) bool { return EqualError(r, io.EOF, "eof") },
		"ErrorContains":   func(r T) bool { return ErrorContains(r, nil, "x") },
		"ErrorIs":         func(r T) bool { return ErrorIs(r, io.EOF, io.ErrClosedPipe) },
		"NotErrorIs":      func(r T) bool { return NotErrorIs(r, io.EOF, io.EOF) },
		"JSONEq":          func(r T) bool { return JSONEq(r, `{"a":1}`, `{"a":2}`) },
		"PanicsWithValue": func(r T) bool { return PanicsWithValue(r, "boom", func() {}) },
		"Less":            func(r T) bool { return Less(r, 2, 1) },
	}
	for name, f := range pass {
		r := &recorder{}
		if !f(r) || len(r.failures) > 0 {
			t.Errorf("%s failed on good input: %q", name, r.failures)
		}
	}
	for name, f := range fail {
		r := &recorder{}
		if f(r) || len(r.failures) != 1 || strings.TrimSpace(r.failures[0]) == "" {
			t.Errorf("%s did not fail once, with a reason, on bad input: %q", name, r.failures)
		}
	}
	r := &recorder{}
	Equal(r, 1, 2, "case %s", "x")
	if !strings.HasSuffix(r.failures[0], "\ncase x") {
		t.Errorf("message not appended: %q", r.failures[0])
	}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "wrapped" }
func (w *wrapped) Unwrap() error { return w.err }
