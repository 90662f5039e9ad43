package pcmk

import "strings"

// MatchesFSType reports whether a Filesystem fstype is one of want (case and
// surrounding space ignored, as mount(8) would).
func MatchesFSType(fstype string, want []string) bool {
	for _, w := range want {
		if strings.EqualFold(strings.TrimSpace(fstype), w) {
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
