// Package nodename decides whether a fence target name is safe to hand to a
// discovery command.
//
// Pacemaker passes the target on stdin, and the operator controls it through
// pcmk_host_map, so it is untrusted text. The recorder always writes the name
// into the audit trail (escaped), but it only lets discovery strategies see a
// name that looks like a host name, so that no command ever receives a name
// that could be read as an option, a path, or shell syntax.
//
// A plausible node name is:
//
//   - 1 to 253 bytes long (the DNS limit for a full name);
//   - one or more labels separated by single dots, with no leading, trailing
//     or doubled dot;
//   - each label 1 to 63 bytes of ASCII letters, digits, '-' and '_';
//   - each label starting with a letter, digit or '_' (so never '-': no name
//     or label can be mistaken for a command-line option).
//
// Everything else is rejected: whitespace, control bytes, non-ASCII and
// non-UTF-8 bytes, '/', shell metacharacters, '=', quotes.
package nodename

import (
	"errors"
	"fmt"
)

// Limits of a plausible node name.
const (
	MaxLen      = 253
	MaxLabelLen = 63
)

// ErrEmpty is returned for an empty name.
var ErrEmpty = errors.New("node name is empty")

// Validate returns nil when name is a plausible node name and otherwise an
// error saying what is wrong with it. The error never repeats the name itself:
// the caller records the name escaped, and an error text may end up in places
// (stderr, syslog) that do not escape.
func Validate(name string) error {
	if name == "" {
		return ErrEmpty
	}
	if len(name) > MaxLen {
		return fmt.Errorf("node name is %d bytes long, more than %d", len(name), MaxLen)
	}
	labelStart := 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '.' {
			if !labelByte(name[i]) {
				return fmt.Errorf("node name has a byte not allowed in a node name (0x%02x) at offset %d", name[i], i)
			}
			continue
		}
		// name[labelStart:i] is one label.
		switch n := i - labelStart; {
		case n == 0:
			return fmt.Errorf("node name has an empty label at offset %d (leading, trailing or doubled dot)", i)
		case n > MaxLabelLen:
			return fmt.Errorf("node name has a label of %d bytes at offset %d, more than %d", n, labelStart, MaxLabelLen)
		case name[labelStart] == '-':
			return fmt.Errorf("node name has a label starting with '-' at offset %d", labelStart)
		}
		labelStart = i + 1
	}
	return nil
}

// Valid reports whether Validate accepts name.
func Valid(name string) bool { return Validate(name) == nil }

func labelByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
