//go:build wasip1

// Command xmlite is a reactor that links sdk/xmlite: the size test measures
// what the package adds over the bare guest, and the wasm test checks that
// it scans inside wasm exactly as natively (package dump is the scan both
// run).
package main

import (
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/guestcheck/testdata/reactor"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/xmlite/testdata/guest/xmlite/dump"
)

// run writes what dump.Tokens writes for the input and returns the
// output's length.
//
//go:wasmexport run
func run(n uint32) int32 {
	reactor.Out = dump.Tokens(reactor.Out[:0], reactor.In[:n])
	return int32(len(reactor.Out))
}

func main() {}
