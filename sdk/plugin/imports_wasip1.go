//go:build wasip1

package plugin

import (
	"runtime"
	"unsafe"
)

// Host imports of ABI v1, module "fgr" (docs/ABI.md). Pointers are offsets
// in this module's linear memory; the host copies in or out during the call
// and keeps no reference afterwards.

//go:wasmimport fgr exec
func fgrExec(reqPtr unsafe.Pointer, reqLen uint32) uint32

//go:wasmimport fgr take
func fgrTake(bufPtr unsafe.Pointer, bufLimit uint32) uint32

//go:wasmimport fgr log
func fgrLog(level int32, msgPtr unsafe.Pointer, msgLen uint32)

func hostExec(req []byte) uint32 {
	if len(req) == 0 {
		return 0
	}
	n := fgrExec(unsafe.Pointer(&req[0]), uint32(len(req)))
	runtime.KeepAlive(req)
	return n
}

func hostTake(buf []byte) uint32 {
	if len(buf) == 0 {
		return fgrTake(nil, 0)
	}
	n := fgrTake(unsafe.Pointer(&buf[0]), uint32(len(buf)))
	runtime.KeepAlive(buf)
	return n
}

func hostLog(level Level, msg string) {
	if msg == "" {
		fgrLog(int32(level), nil, 0)
		return
	}
	fgrLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
	runtime.KeepAlive(msg)
}
