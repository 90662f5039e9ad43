//go:build wasip1

// Command bare is the baseline reactor for the size test: the same exports
// as the codec guests, copying its input to its output.
package main

import "unsafe"

var in, out []byte

//go:wasmexport alloc
func alloc(n uint32) uint32 {
	in = make([]byte, n+1) // +1: a valid pointer also for n == 0
	return uint32(uintptr(unsafe.Pointer(&in[0])))
}

//go:wasmexport run
func run(n uint32) int32 {
	out = append(out[:0], in[:n]...)
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
