package pcmk

import "strings"

// MatchesFSType reports whether a Filesystem fstype is one of want (case and
// surrounding space ignored, as mount(8) would).
func MatchesFSType(fstype string, want []string) bool {
	for _, w := range want {
		if equalFold(trim(fstype), w) {
			return true
		}
	}
	return false
}

// Contains reports whether list holds s.
func Contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// SetNonEmpty sets details[key] to list unless list is empty: a detail a
// strategy found nothing for is left out of the record, not written empty.
// It is not inlined: a map assignment copied into every call site costs the
// built-in module about 5 KB of wasm more than one shared body.
//
//go:noinline
func SetNonEmpty[T any](details map[string]any, key string, list []T) {
	if len(list) > 0 {
		details[key] = list
	}
}

// AppendOnce appends s unless list already holds it.
func AppendOnce(list []string, s string) []string {
	if Contains(list, s) {
		return list
	}
	return append(list, s)
}

type wrapped struct {
	prefix string
	err    error
}

func (e *wrapped) Error() string { return e.prefix + e.err.Error() }
func (e *wrapped) Unwrap() error { return e.err }

// Wrap prefixes err's message and keeps it unwrappable, without fmt.
func Wrap(prefix string, err error) error { return &wrapped{prefix, err} }

// The helpers below are ASCII-only on purpose: every value they look at
// (target-role, booleans, scores, fstype, operators) is ASCII in Pacemaker,
// and strings.ToLower/EqualFold would link the unicode case tables into
// the guest.

// lower returns s with ASCII letters lowered.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// equalFold compares ASCII strings case-insensitively.
func equalFold(a, b string) bool { return len(a) == len(b) && lower(a) == lower(b) }

// trim removes ASCII white space at both ends.
func trim(s string) string { return strings.Trim(s, " \t\r\n") }
