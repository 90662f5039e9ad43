//go:build wasip1

// Command jsonlite is a reactor that links sdk/jsonlite: the size test
// measures what the package adds over the bare guest, and the wasm test
// checks that it decodes and encodes inside wasm exactly as natively
// (package walk is the pull-API walk both run).
package main

import (
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/guestcheck/testdata/reactor"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite/testdata/guest/jsonlite/walk"
)

// run decodes the input with Value and writes it back with the Writer
// (or writes the error as a JSON string and returns -1).
//
//go:wasmexport run
func run(n uint32) int32 {
	r := jsonlite.NewReader(reactor.In[:n])
	v, err := r.Value()
	if err == nil {
		err = r.End()
	}
	w := jsonlite.NewWriter(reactor.Out[:0])
	if err == nil {
		err = w.Value(v)
	}
	if err != nil {
		w.Reset()
		w.String(err.Error())
		reactor.Out = w.Bytes()
		return -1
	}
	reactor.Out = w.Bytes()
	return int32(len(reactor.Out))
}

// stream writes the summary of walk.Summary (or the error as a JSON string
// and returns -1).
//
//go:wasmexport stream
func stream(n uint32) int32 {
	summary, err := walk.Summary(reactor.Out[:0], reactor.In[:n])
	if err != nil {
		w := jsonlite.NewWriter(reactor.Out[:0])
		w.String(err.Error())
		reactor.Out = w.Bytes()
		return -1
	}
	reactor.Out = summary
	return int32(len(reactor.Out))
}

func main() {}
