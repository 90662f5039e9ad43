package options

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Quote renders untrusted text for messages: Go-quoted ASCII, cut to 80
// bytes, so no control byte or invalid UTF-8 reaches a terminal or a log.
func Quote(s string) string {
	const max = 80
	suffix := ""
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s, suffix = s[:cut], fmt.Sprintf("...(%d bytes)", len(s))
	}
	return strconv.QuoteToASCII(s) + suffix
}
