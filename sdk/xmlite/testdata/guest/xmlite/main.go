//go:build wasip1

// Command xmlite is a reactor that links sdk/xmlite: the size test measures
// what the package adds over the bare guest, and the wasm test checks that
// it scans inside wasm exactly as natively (package dump is the scan both
// run).
package main

import (
	"unsafe"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/xmlite/testdata/guest/xmlite/dump"
)

var in, out []byte

//go:wasmexport alloc
func alloc(n uint32) uint32 {
	in = make([]byte, n+1)
	return uint32(uintptr(unsafe.Pointer(&in[0])))
}

// run writes what dump.Tokens writes for the input and returns the
// output's length.
//
//go:wasmexport run
func run(n uint32) int32 {
	out = dump.Tokens(out[:0], in[:n])
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
