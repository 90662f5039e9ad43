//go:build wasip1

package plugin

import "unsafe"

// Guest exports of ABI v1 (docs/ABI.md). The Go toolchain adds "memory" and
// "_initialize" to a -buildmode=c-shared module; the host runs _initialize
// once per instance, which runs the strategy's init (and so Register).

// Buffers the host reads or writes between calls live in package variables:
// Go's wasm GC does not move objects, and a reachable slice is not freed.
var (
	requestBuf  []byte // written by the host after fgr_alloc, read by fgr_discover
	responseBuf []byte // valid until the next call into the guest
	infoBuf     []byte
)

//go:wasmexport fgr_abi_version
func fgrABIVersion() int32 { return ABIVersion }

// fgrAlloc returns a buffer of size bytes for the next request. There is
// one request buffer; a new fgr_alloc replaces it.
//
//go:wasmexport fgr_alloc
func fgrAlloc(size uint32) uint32 {
	if size == 0 {
		size = 1 // a zero-size allocation has no stable address
	}
	requestBuf = make([]byte, size)
	return uint32(uintptr(unsafe.Pointer(&requestBuf[0])))
}

// takeRequest hands over the request fgr_alloc's buffer holds, once; ok is
// false when reqPtr and reqLen are not that buffer.
func takeRequest(reqPtr, reqLen uint32) (req []byte, ok bool) {
	req = requestBuf
	requestBuf = nil
	if len(req) == 0 || uint32(uintptr(unsafe.Pointer(&req[0]))) != reqPtr || int(reqLen) > len(req) {
		return nil, false
	}
	return req[:reqLen], true
}

//go:wasmexport fgr_discover
func fgrDiscover(reqPtr, reqLen uint32) uint64 {
	if req, ok := takeRequest(reqPtr, reqLen); ok {
		responseBuf = serve(req, newHostContext())
	} else {
		responseBuf = encodeResponse(Result{}, &execError{msg: "plugin: fgr_discover called with a buffer fgr_alloc did not return"})
	}
	return pack(responseBuf)
}

//go:wasmexport fgr_info
func fgrInfo() uint64 {
	infoBuf = encodeInfo()
	return pack(infoBuf)
}

func pack(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))<<32 | uint64(len(b))
}
