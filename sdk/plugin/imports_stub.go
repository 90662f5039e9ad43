//go:build !wasip1

package plugin

// Native builds have no host: these stubs let plugin packages (and this
// SDK's codec) build and test with plain `go test`. Test strategy logic with
// package plugintest, which scripts command results.

func hostExec(req []byte) uint32 { return 0 }

func hostTake(buf []byte) uint32 { return 0 }

func hostLog(level Level, msg string) {}
