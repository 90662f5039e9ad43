// Package assert is the part of testify's assert API the SDK's own tests
// use, on the standard library alone. The SDK is a module that requires
// nothing, so a site strategy's go.sum holds nothing but what it chooses:
// `go mod tidy` in a module that depends on the SDK records the checksums
// of everything the SDK's tests import, too. Only _test files import it.
package assert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// T is what the assertions need of a *testing.T or *testing.B.
type T interface {
	Helper()
	Errorf(format string, args ...any)
}

func fail(t T, what string, msgAndArgs []any) bool {
	t.Helper()
	msg := ""
	switch {
	case len(msgAndArgs) == 1:
		msg = "\n" + fmt.Sprint(msgAndArgs[0])
	case len(msgAndArgs) > 1:
		format, _ := msgAndArgs[0].(string)
		msg = "\n" + fmt.Sprintf(format, msgAndArgs[1:]...)
	}
	t.Errorf("%s%s", what, msg)
	return false
}

// ObjectsAreEqual is testify's equality: bytes.Equal for two []byte, else
// reflect.DeepEqual.
func ObjectsAreEqual(expected, actual any) bool {
	if e, ok := expected.([]byte); ok {
		if a, ok := actual.([]byte); ok {
			return bytes.Equal(e, a)
		}
	}
	return reflect.DeepEqual(expected, actual)
}

func Equal(t T, expected, actual any, msgAndArgs ...any) bool {
	t.Helper()
	if ObjectsAreEqual(expected, actual) {
		return true
	}
	return fail(t, fmt.Sprintf("not equal:\nexpected: %#v\nactual:   %#v", expected, actual), msgAndArgs)
}

func Same(t T, expected, actual any, msgAndArgs ...any) bool {
	t.Helper()
	e, a := reflect.ValueOf(expected), reflect.ValueOf(actual)
	if e.Kind() == reflect.Pointer && a.Kind() == reflect.Pointer && e.Type() == a.Type() && e.Pointer() == a.Pointer() {
		return true
	}
	return fail(t, fmt.Sprintf("not the same pointer: %p and %p", expected, actual), msgAndArgs)
}

func True(t T, value bool, msgAndArgs ...any) bool {
	t.Helper()
	if value {
		return true
	}
	return fail(t, "should be true", msgAndArgs)
}

func False(t T, value bool, msgAndArgs ...any) bool {
	t.Helper()
	if !value {
		return true
	}
	return fail(t, "should be false", msgAndArgs)
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Chan, reflect.Func, reflect.Interface, reflect.Map, reflect.Pointer, reflect.Slice, reflect.UnsafePointer:
		return r.IsNil()
	}
	return false
}

func Nil(t T, object any, msgAndArgs ...any) bool {
	t.Helper()
	if isNil(object) {
		return true
	}
	return fail(t, fmt.Sprintf("expected nil, got %#v", object), msgAndArgs)
}

func NotNil(t T, object any, msgAndArgs ...any) bool {
	t.Helper()
	if !isNil(object) {
		return true
	}
	return fail(t, "expected a value, got nil", msgAndArgs)
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Chan, reflect.Map, reflect.Slice, reflect.String:
		return r.Len() == 0
	case reflect.Pointer:
		return r.IsNil() || isEmpty(r.Elem().Interface())
	}
	return r.IsZero()
}

func Empty(t T, object any, msgAndArgs ...any) bool {
	t.Helper()
	if isEmpty(object) {
		return true
	}
	return fail(t, fmt.Sprintf("should be empty, is %#v", object), msgAndArgs)
}

func NotEmpty(t T, object any, msgAndArgs ...any) bool {
	t.Helper()
	if !isEmpty(object) {
		return true
	}
	return fail(t, fmt.Sprintf("should not be empty, is %#v", object), msgAndArgs)
}

func Len(t T, object any, length int, msgAndArgs ...any) bool {
	t.Helper()
	r := reflect.ValueOf(object)
	switch r.Kind() {
	case reflect.Array, reflect.Chan, reflect.Map, reflect.Slice, reflect.String:
		if r.Len() == length {
			return true
		}
		return fail(t, fmt.Sprintf("should have %d item(s), has %d: %#v", length, r.Len(), object), msgAndArgs)
	}
	return fail(t, fmt.Sprintf("%#v has no length", object), msgAndArgs)
}

// includes says whether list (a string, array, slice or map) contains
// element (a substring, an element, a key); ok is false for other kinds.
func includes(list, element any) (ok, found bool) {
	if s, isStr := list.(string); isStr {
		e, isStr := element.(string)
		return isStr, isStr && strings.Contains(s, e)
	}
	r := reflect.ValueOf(list)
	switch r.Kind() {
	case reflect.Array, reflect.Slice:
		for i := range r.Len() {
			if ObjectsAreEqual(r.Index(i).Interface(), element) {
				return true, true
			}
		}
		return true, false
	case reflect.Map:
		for _, k := range r.MapKeys() {
			if ObjectsAreEqual(k.Interface(), element) {
				return true, true
			}
		}
		return true, false
	}
	return false, false
}

func Contains(t T, s, contains any, msgAndArgs ...any) bool {
	t.Helper()
	ok, found := includes(s, contains)
	if ok && found {
		return true
	}
	return fail(t, fmt.Sprintf("%#v does not contain %#v", s, contains), msgAndArgs)
}

func NotContains(t T, s, contains any, msgAndArgs ...any) bool {
	t.Helper()
	ok, found := includes(s, contains)
	if ok && !found {
		return true
	}
	return fail(t, fmt.Sprintf("%#v should not contain %#v", s, contains), msgAndArgs)
}

func ElementsMatch(t T, listA, listB any, msgAndArgs ...any) bool {
	t.Helper()
	a, b := reflect.ValueOf(listA), reflect.ValueOf(listB)
	if a.Len() == b.Len() {
		used := make([]bool, b.Len())
	next:
		for i := range a.Len() {
			for j := range b.Len() {
				if !used[j] && ObjectsAreEqual(a.Index(i).Interface(), b.Index(j).Interface()) {
					used[j] = true
					continue next
				}
			}
			return fail(t, fmt.Sprintf("elements differ: %#v and %#v", listA, listB), msgAndArgs)
		}
		return true
	}
	return fail(t, fmt.Sprintf("elements differ: %#v and %#v", listA, listB), msgAndArgs)
}

func NoError(t T, err error, msgAndArgs ...any) bool {
	t.Helper()
	if err == nil {
		return true
	}
	return fail(t, fmt.Sprintf("unexpected error: %v", err), msgAndArgs)
}

func Error(t T, err error, msgAndArgs ...any) bool {
	t.Helper()
	if err != nil {
		return true
	}
	return fail(t, "an error is expected but got nil", msgAndArgs)
}

func EqualError(t T, err error, errString string, msgAndArgs ...any) bool {
	t.Helper()
	if err != nil && err.Error() == errString {
		return true
	}
	return fail(t, fmt.Sprintf("error %v, want %q", err, errString), msgAndArgs)
}

func ErrorContains(t T, err error, contains string, msgAndArgs ...any) bool {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), contains) {
		return true
	}
	return fail(t, fmt.Sprintf("error %v does not contain %q", err, contains), msgAndArgs)
}

func ErrorIs(t T, err, target error, msgAndArgs ...any) bool {
	t.Helper()
	if errors.Is(err, target) {
		return true
	}
	return fail(t, fmt.Sprintf("error %v is not %v", err, target), msgAndArgs)
}

func NotErrorIs(t T, err, target error, msgAndArgs ...any) bool {
	t.Helper()
	if !errors.Is(err, target) {
		return true
	}
	return fail(t, fmt.Sprintf("error %v should not be %v", err, target), msgAndArgs)
}

func ErrorAs(t T, err error, target any, msgAndArgs ...any) bool {
	t.Helper()
	if errors.As(err, target) {
		return true
	}
	return fail(t, fmt.Sprintf("error %v is not a %T", err, target), msgAndArgs)
}

func JSONEq(t T, expected, actual string, msgAndArgs ...any) bool {
	t.Helper()
	var e, a any
	if err := json.Unmarshal([]byte(expected), &e); err != nil {
		return fail(t, fmt.Sprintf("expected is not JSON: %v: %s", err, expected), msgAndArgs)
	}
	if err := json.Unmarshal([]byte(actual), &a); err != nil {
		return fail(t, fmt.Sprintf("actual is not JSON: %v: %s", err, actual), msgAndArgs)
	}
	if reflect.DeepEqual(e, a) {
		return true
	}
	return fail(t, fmt.Sprintf("JSON not equal:\nexpected: %s\nactual:   %s", expected, actual), msgAndArgs)
}

func PanicsWithValue(t T, expected any, f func(), msgAndArgs ...any) (ok bool) {
	t.Helper()
	panicked, value := func() (panicked bool, value any) {
		defer func() {
			if r := recover(); r != nil || panicked {
				panicked, value = true, r
			}
		}()
		panicked = true
		f()
		panicked = false
		return
	}()
	if panicked && ObjectsAreEqual(expected, value) {
		return true
	}
	return fail(t, fmt.Sprintf("should panic with %#v (panicked: %v, with %#v)", expected, panicked, value), msgAndArgs)
}

// compare orders two numbers of one kind (or two strings): -1, 0, 1; ok is
// false when they cannot be compared.
func compare(a, b any) (int, bool) {
	x, y := reflect.ValueOf(a), reflect.ValueOf(b)
	if x.Kind() != y.Kind() {
		return 0, false
	}
	cmp := func(less, greater bool) int {
		switch {
		case less:
			return -1
		case greater:
			return 1
		}
		return 0
	}
	switch x.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cmp(x.Int() < y.Int(), x.Int() > y.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return cmp(x.Uint() < y.Uint(), x.Uint() > y.Uint()), true
	case reflect.Float32, reflect.Float64:
		return cmp(x.Float() < y.Float(), x.Float() > y.Float()), true
	case reflect.String:
		return cmp(x.String() < y.String(), x.String() > y.String()), true
	}
	return 0, false
}

func ordered(t T, e1, e2 any, want func(int) bool, rel string, msgAndArgs []any) bool {
	t.Helper()
	c, ok := compare(e1, e2)
	if ok && want(c) {
		return true
	}
	return fail(t, fmt.Sprintf("%#v is not %s %#v", e1, rel, e2), msgAndArgs)
}

func Less(t T, e1, e2 any, msgAndArgs ...any) bool {
	t.Helper()
	return ordered(t, e1, e2, func(c int) bool { return c < 0 }, "less than", msgAndArgs)
}

func Greater(t T, e1, e2 any, msgAndArgs ...any) bool {
	t.Helper()
	return ordered(t, e1, e2, func(c int) bool { return c > 0 }, "greater than", msgAndArgs)
}

func GreaterOrEqual(t T, e1, e2 any, msgAndArgs ...any) bool {
	t.Helper()
	return ordered(t, e1, e2, func(c int) bool { return c >= 0 }, "greater than or equal to", msgAndArgs)
}
