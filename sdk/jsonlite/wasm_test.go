package jsonlite

import (
	"context"
	"os"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/guestcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// buildGuest builds testdata/guest/<name> as a wasip1 reactor, the way
// `make plugins` builds strategies, and returns its path.
func buildGuest(t testing.TB, name string) string {
	t.Helper()
	return guestcheck.Build(t, "./testdata/guest/"+name)
}

// TestGuestSize reports what linking jsonlite adds to a reactor (the guest
// exercises every Reader and Writer method) and keeps it under a ceiling:
// every MB of guest costs about 10 ms per fence.
func TestGuestSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two wasm guests")
	}
	guestcheck.SizeUnder(t, "./testdata/guest/jsonlite", "jsonlite (whole API)", 180<<10)
}

// callGuest copies input into a fresh instance of the guest, calls export
// with its length and returns the result code and output bytes.
func callGuest(t testing.TB, rt wazero.Runtime, compiled wazero.CompiledModule, export string, input []byte) (int32, []byte) {
	t.Helper()
	ctx := context.Background()
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions("_initialize").WithName(""))
	require.NoError(t, err)
	defer mod.Close(ctx)
	res, err := mod.ExportedFunction("alloc").Call(ctx, uint64(len(input)))
	require.NoError(t, err)
	require.True(t, mod.Memory().Write(uint32(res[0]), input))
	res, err = mod.ExportedFunction(export).Call(ctx, uint64(len(input)))
	require.NoError(t, err)
	code := int32(uint32(res[0]))
	ptr, err := mod.ExportedFunction("out_ptr").Call(ctx)
	require.NoError(t, err)
	n := uint32(code)
	if code < 0 {
		// An error: the guest wrote it as a JSON string; find its end.
		for n = 0; ; n++ {
			b, ok := mod.Memory().ReadByte(uint32(ptr[0]) + n)
			require.True(t, ok)
			if n > 0 && b == '"' {
				n++
				break
			}
		}
	}
	out, ok := mod.Memory().Read(uint32(ptr[0]), n)
	require.True(t, ok)
	return code, append([]byte(nil), out...)
}

func newRuntime(t testing.TB, wasmPath string) (wazero.Runtime, wazero.CompiledModule) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	t.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	bin, err := os.ReadFile(wasmPath)
	require.NoError(t, err)
	compiled, err := rt.CompileModule(ctx, bin)
	require.NoError(t, err)
	return rt, compiled
}

// TestInsideWasm runs the codec inside a real wasip1 guest under wazero and
// checks it gives byte for byte what it gives natively: the guest is where
// it runs in production.
func TestInsideWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm guest")
	}
	rt, compiled := newRuntime(t, buildGuest(t, "jsonlite"))
	fixture, err := os.ReadFile("testdata/clientmounts-all.json")
	require.NoError(t, err)
	inputs := [][]byte{fixture, []byte(`{"a":[1,-2.5e-7,1e21,"\u00e9\ud83d\ude00\u2028",true,null,{}],"b":9007199254740993}`),
		[]byte(`{"a":[1,}`), []byte("\"\xff\""), []byte(`1e400`)}
	for _, in := range inputs {
		// Value + Writer.Value round trip.
		code, out := callGuest(t, rt, compiled, "run", in)
		v, nerr := decodeOurs(in)
		if nerr != nil {
			assert.Equal(t, int32(-1), code, "%q", in)
			w := NewWriter(nil)
			w.String(nerr.Error())
			assert.Equal(t, string(w.Bytes()), string(out))
			continue
		}
		require.Equal(t, int32(len(out)), code)
		w := NewWriter(nil)
		require.NoError(t, w.Value(v))
		assert.Equal(t, string(w.Bytes()), string(out))

		// The pull API over every value.
		code, out = callGuest(t, rt, compiled, "stream", in)
		require.Positive(t, code, "%s", out)
		assert.Equal(t, string(nativeStream(t, in)), string(out))
	}
}

// nativeStream is the guest's stream export, run natively.
func nativeStream(t testing.TB, in []byte) []byte {
	r := NewReader(in)
	var counts [7]int64
	var ints int64
	var walk func() error
	walk = func() error {
		k := r.Peek()
		counts[k]++
		switch k {
		case Object:
			return r.Object(func(string) error { return walk() })
		case Array:
			return r.Array(func(int) error { return walk() })
		case Number:
			if i, err := r.Int(); err == nil {
				ints += i
				return nil
			}
		}
		return r.Skip()
	}
	require.NoError(t, walk())
	require.NoError(t, r.End())
	w := NewWriter(nil)
	w.ArrayStart()
	for _, c := range counts {
		w.Int(c)
	}
	w.Int(ints)
	w.ArrayEnd()
	return w.Bytes()
}
