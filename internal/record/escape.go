package record

import (
	"strings"
)

// The readable log is grepped by people and by scripts (grep 'ACTION=off',
// awk on spaces). A value must therefore never contain a space, '=', a
// newline, a control byte or a byte that is not ASCII, or it could split a
// line or forge a field. Values made of safe bytes are written as they are;
// any other value is written in double quotes with every unsafe byte as \xHH.

func tokenSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("._-:/@+,", c) >= 0
}

// EscapeToken renders v for a space-separated key=value field.
func EscapeToken(v string) string {
	if v != "" && allSafe(v, tokenSafe) {
		return v
	}
	return `"` + escapeBytes(v, tokenSafe) + `"`
}

// escapeElement renders v inside the GFS2=[...] JSON-like array: always
// quoted, same escaping.
func escapeElement(v string) string { return `"` + escapeBytes(v, tokenSafe) + `"` }

// textSafe allows spaces for the DETAILS field, which is last on the line.
func textSafe(c byte) bool { return c >= 0x20 && c <= 0x7e && c != '=' && c != '\\' && c != '"' }

// EscapeText renders free text for the last field of a line.
func EscapeText(v string) string { return escapeBytes(v, textSafe) }

func allSafe(v string, safe func(byte) bool) bool {
	for i := 0; i < len(v); i++ {
		if !safe(v[i]) {
			return false
		}
	}
	return true
}

func escapeBytes(v string, safe func(byte) bool) string {
	const hexDigits = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if safe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteString(`\x`)
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	return b.String()
}

// ReadableLine is the event's line in fence-events-readable.log, newline
// included:
//
//	[2026-11-25 06:30:00] ACTION=reboot TARGET=compute-node-3 GFS2=["sharedfs"] STATUS=initiated DETAILS=Fence action reboot initiated by Pacemaker
func (e *Event) ReadableLine() string {
	var b strings.Builder
	b.WriteString("[")
	b.WriteString(e.time().Format("2006-01-02 15:04:05"))
	b.WriteString("] ACTION=")
	b.WriteString(EscapeToken(e.Action))
	b.WriteString(" TARGET=")
	b.WriteString(EscapeToken(e.TargetNode))
	b.WriteString(" GFS2=[")
	for i, fs := range e.GFS2Filesystems {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(escapeElement(fs))
	}
	b.WriteString("] STATUS=")
	b.WriteString(EscapeToken(e.Status))
	b.WriteString(" DETAILS=")
	b.WriteString(EscapeText(e.Details))
	b.WriteByte('\n')
	return b.String()
}
