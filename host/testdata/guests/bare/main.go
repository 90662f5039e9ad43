// Command bare is a Go reactor with one export and no SDK: the floor every
// Go guest pays (the Go runtime), to measure the SDK against.
package main

//go:wasmexport fgr_abi_version
func abiVersion() int32 { return 1 }

func main() {}
