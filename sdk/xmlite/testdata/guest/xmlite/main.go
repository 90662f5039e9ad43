//go:build wasip1

// Command xmlite is a reactor that links sdk/xmlite: the size test measures
// what the package adds over the bare guest, and the wasm test checks that
// it scans inside wasm exactly as natively.
package main

import (
	"io"
	"unsafe"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/xmlite"
)

var in, out []byte

//go:wasmexport alloc
func alloc(n uint32) uint32 {
	in = make([]byte, n+1)
	return uint32(uintptr(unsafe.Pointer(&in[0])))
}

// run writes one line per token (see dump), then "ERR <error>" if the
// document is malformed, and returns the output's length.
//
//go:wasmexport run
func run(n uint32) int32 {
	s := xmlite.NewScanner(in[:n])
	out = out[:0]
	for {
		tok, err := s.Next()
		if err == io.EOF {
			return int32(len(out))
		}
		if err != nil {
			out = append(append(out, "ERR "...), err.Error()...)
			return int32(len(out))
		}
		if tok.Kind == xmlite.StartElement && tok.Name == "skip" {
			if err := s.Skip(); err != nil {
				out = append(append(out, "ERR "...), err.Error()...)
				return int32(len(out))
			}
			continue
		}
		out = dump(out, tok)
	}
}

// dump is duplicated in wasm_test.go; keep them equal.
func dump(b []byte, tok xmlite.Token) []byte {
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

//go:wasmexport out_ptr
func outPtr() uint32 {
	if len(out) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&out[0])))
}

func main() {}
