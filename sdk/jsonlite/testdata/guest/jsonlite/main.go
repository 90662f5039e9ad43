//go:build wasip1

// Command jsonlite is a reactor that links sdk/jsonlite: the size test
// measures what the package adds over the bare guest, and the wasm test
// checks that it decodes and encodes inside wasm exactly as natively.
package main

import (
	"unsafe"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite"
)

var in, out []byte

//go:wasmexport alloc
func alloc(n uint32) uint32 {
	in = make([]byte, n+1)
	return uint32(uintptr(unsafe.Pointer(&in[0])))
}

// run decodes the input with Value and writes it back with the Writer
// (or writes the error as a JSON string and returns -1).
//
//go:wasmexport run
func run(n uint32) int32 {
	r := jsonlite.NewReader(in[:n])
	v, err := r.Value()
	if err == nil {
		err = r.End()
	}
	w := jsonlite.NewWriter(out[:0])
	if err == nil {
		err = w.Value(v)
	}
	if err != nil {
		w.Reset()
		w.String(err.Error())
		out = w.Bytes()
		return -1
	}
	out = w.Bytes()
	return int32(len(out))
}

// stream walks the input with the pull API (every typed read) and writes
// a summary: counts of each kind and the sum of the integers.
//
//go:wasmexport stream
func stream(n uint32) int32 {
	r := jsonlite.NewReader(in[:n])
	var counts [7]int64
	var ints int64
	var walk func() error
	walk = func() error {
		k := r.Peek()
		counts[k]++
		switch k {
		case jsonlite.Object:
			return r.Object(func(string) error { return walk() })
		case jsonlite.Array:
			return r.Array(func(int) error { return walk() })
		case jsonlite.String:
			_, err := r.String()
			return err
		case jsonlite.Number:
			if i, err := r.Int(); err == nil {
				ints += i
				return nil
			}
			_, err := r.Float()
			return err
		case jsonlite.Bool:
			_, err := r.Bool()
			return err
		case jsonlite.Null:
			return r.Null()
		}
		return r.Skip()
	}
	err := walk()
	if err == nil {
		err = r.End()
	}
	w := jsonlite.NewWriter(out[:0])
	if err != nil {
		w.String(err.Error())
		out = w.Bytes()
		return -1
	}
	w.ArrayStart()
	for _, c := range counts {
		w.Int(c)
	}
	w.Int(ints)
	w.ArrayEnd()
	out = w.Bytes()
	return int32(len(out))
}

//go:wasmexport out_ptr
func outPtr() uint32 {
	if len(out) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&out[0])))
}

func main() {}
