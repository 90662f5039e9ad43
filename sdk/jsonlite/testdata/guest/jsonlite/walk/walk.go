// Package walk is the pull-API half of what the jsonlite test guest
// computes, in plain Go: the guest (its parent directory) runs it inside
// wasm, and the agent module's wasm test runs the same code natively to
// compare the two byte for byte.
package walk

import "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite"

// Summary walks doc with the pull API, reading every value with its typed
// read, and appends to out a summary as a JSON array: the count of each
// Kind, then the sum of the integers.
func Summary(out, doc []byte) ([]byte, error) {
	r := jsonlite.NewReader(doc)
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
	if err != nil {
		return out, err
	}
	w := jsonlite.NewWriter(out)
	w.ArrayStart()
	for _, c := range counts {
		w.Int(c)
	}
	w.Int(ints)
	w.ArrayEnd()
	return w.Bytes(), nil
}
