// Package dump is what the xmlite test guest computes, in plain Go: the
// guest (its parent directory) runs it inside wasm, and the agent module's
// wasm test runs the same code natively to compare the two byte for byte.
package dump

import (
	"io"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/xmlite"
)

// Tokens scans doc and appends one line per token to out (see token), then
// "ERR <error>" if the document is malformed. An element named "skip" is
// passed over with Scanner.Skip, so Skip is exercised too.
func Tokens(out, doc []byte) []byte {
	s := xmlite.NewScanner(doc)
	for {
		tok, err := s.Next()
		if err == io.EOF {
			return out
		}
		if err == nil && tok.Kind == xmlite.StartElement && tok.Name == "skip" {
			if err = s.Skip(); err == nil {
				continue
			}
		}
		if err != nil {
			return append(append(out, "ERR "...), err.Error()...)
		}
		out = token(out, tok)
	}
}

func token(b []byte, tok xmlite.Token) []byte {
	switch tok.Kind {
	case xmlite.StartElement:
		b = append(b, "S "...)
		b = append(b, tok.Name...)
		for _, a := range tok.Attrs {
			b = append(b, ' ')
			b = append(b, a.Name...)
			b = append(b, '=')
			b = append(b, a.Value...)
		}
		if v, ok := tok.Attr("id"); ok {
			b = append(b, " #"...)
			b = append(b, v...)
		}
		if tok.SelfClosing {
			b = append(b, " /"...)
		}
	case xmlite.EndElement:
		b = append(b, "E "...)
		b = append(b, tok.Name...)
	case xmlite.Text:
		b = append(b, "T "...)
		b = append(b, tok.Text...)
	}
	return append(b, '\n')
}
