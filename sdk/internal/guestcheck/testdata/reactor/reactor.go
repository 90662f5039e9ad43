//go:build wasip1

// Package reactor is the memory exchange every size-test guest shares (the
// bare baseline and the codec guests), so that their sizes differ only by
// what the guest's own exports link: alloc gives the host a buffer to write
// the input into, out_ptr points it at the output.
package reactor

import "unsafe"

// In is the input buffer of the last alloc; the host wrote the input at
// its start, and the guest's export is called with its length.
var In []byte

// Out is what the guest's export wrote, where out_ptr points.
var Out []byte

//go:wasmexport alloc
func alloc(n uint32) uint32 {
	In = make([]byte, n+1) // +1: a valid pointer also for n == 0
	return uint32(uintptr(unsafe.Pointer(&In[0])))
}

//go:wasmexport out_ptr
func outPtr() uint32 {
	if len(Out) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&Out[0])))
}
