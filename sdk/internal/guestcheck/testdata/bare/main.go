//go:build wasip1

// Command bare is the baseline reactor for the size test: the same exports
// as the codec guests, copying its input to its output.
package main

import "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/guestcheck/testdata/reactor"

//go:wasmexport run
func run(n uint32) int32 {
	reactor.Out = append(reactor.Out[:0], reactor.In[:n]...)
	return int32(len(reactor.Out))
}

func main() {}
