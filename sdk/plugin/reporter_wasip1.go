//go:build wasip1

package plugin

import "unsafe"

// fgr_report is the reporter export (docs/ABI.md "fgr_report"): the same
// fgr_alloc request buffer as fgr_discover, answered with {"error":".."}.
//
//go:wasmexport fgr_report
func fgrReport(reqPtr, reqLen uint32) uint64 {
	req := requestBuf
	requestBuf = nil
	if len(req) == 0 || uint32(uintptr(unsafe.Pointer(&req[0]))) != reqPtr || int(reqLen) > len(req) {
		responseBuf = []byte(`{"error":"plugin: fgr_report called with a buffer fgr_alloc did not return"}`)
	} else {
		responseBuf = serveReport(req[:reqLen], newHostContext())
	}
	return pack(responseBuf)
}
