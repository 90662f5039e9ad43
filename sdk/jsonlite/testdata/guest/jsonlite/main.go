//go:build wasip1

// Command jsonlite is a reactor that links sdk/jsonlite: the size test
// measures what the package adds over the bare guest, and the wasm test
// checks that it decodes and encodes inside wasm exactly as natively
// (package walk is the pull-API walk both run).
package main

import (
	"unsafe"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite/testdata/guest/jsonlite/walk"
)

var in, out []byte

//go:wasmexport alloc
func alloc(n uint32) uint32 {
	in = make([]byte, n+1)
	return uint32(uintptr(unsafe.Pointer(&in[0])))
}

// run decodes the input with Value and writes it back with the Writer
// (or writes the error as a JSON string and returns -1).
//
//go:wasmexport run
func run(n uint32) int32 {
	r := jsonlite.NewReader(in[:n])
	v, err := r.Value()
	if err == nil {
		err = r.End()
	}
	w := jsonlite.NewWriter(out[:0])
	if err == nil {
		err = w.Value(v)
	}
	if err != nil {
		w.Reset()
		w.String(err.Error())
		out = w.Bytes()
		return -1
	}
	out = w.Bytes()
	return int32(len(out))
}

// stream writes the summary of walk.Summary (or the error as a JSON string
// and returns -1).
//
//go:wasmexport stream
func stream(n uint32) int32 {
	summary, err := walk.Summary(out[:0], in[:n])
	if err != nil {
		w := jsonlite.NewWriter(out[:0])
		w.String(err.Error())
		out = w.Bytes()
		return -1
	}
	out = summary
	return int32(len(out))
}

//go:wasmexport out_ptr
func outPtr() uint32 {
	if len(out) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&out[0])))
}

func main() {}
