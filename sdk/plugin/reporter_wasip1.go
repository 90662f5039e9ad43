//go:build wasip1

package plugin

// fgr_report is the reporter export (docs/ABI.md "fgr_report"): the same
// fgr_alloc request buffer as fgr_discover, answered with {"error":".."}.
//
//go:wasmexport fgr_report
func fgrReport(reqPtr, reqLen uint32) uint64 {
	if req, ok := takeRequest(reqPtr, reqLen); ok {
		responseBuf = serveReport(req, newHostContext())
	} else {
		responseBuf = []byte(`{"error":"plugin: fgr_report called with a buffer fgr_alloc did not return"}`)
	}
	return pack(responseBuf)
}
