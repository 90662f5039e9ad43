// Package sdkwasm runs the SDK's codecs inside real wasip1 guests under
// wazero, as the host runs strategies, and checks they give byte for byte
// what they give natively. It lives in the agent's module, not the SDK's:
// the SDK requires nothing, so a site strategy's go.sum stays empty, and
// wazero is the agent's dependency.
package sdkwasm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite/testdata/guest/jsonlite/walk"
)

// sdkDir is the SDK module of this checkout.
func sdkDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "sdk")
}

// buildGuest builds sdk/<pkg>/testdata/guest/<name> as a wasip1 reactor, the
// way `make plugins` builds strategies, inside the SDK's module.
func buildGuest(t testing.TB, pkg, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, "./testdata/guest/"+name)
	cmd.Dir = filepath.Join(sdkDir(), pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	return out
}

// decodeOurs reads a whole document the way a caller of Value would.
func decodeOurs(data []byte) (any, error) {
	r := jsonlite.NewReader(data)
	v, err := r.Value()
	if err != nil {
		return nil, err
	}
	return v, r.End()
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

// TestJSONLiteInsideWasm runs the codec inside a real wasip1 guest under wazero and
// checks it gives byte for byte what it gives natively: the guest is where
// it runs in production.
func TestJSONLiteInsideWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm guest")
	}
	rt, compiled := newRuntime(t, buildGuest(t, "jsonlite", "jsonlite"))
	fixture, err := os.ReadFile(filepath.Join(sdkDir(), "jsonlite", "testdata", "clientmounts-all.json"))
	require.NoError(t, err)
	inputs := [][]byte{fixture, []byte(`{"a":[1,-2.5e-7,1e21,"\u00e9\ud83d\ude00\u2028",true,null,{}],"b":9007199254740993}`),
		[]byte(`{"a":[1,}`), []byte("\"\xff\""), []byte(`1e400`)}
	for _, in := range inputs {
		// Value + Writer.Value round trip.
		code, out := callGuest(t, rt, compiled, "run", in)
		v, nerr := decodeOurs(in)
		if nerr != nil {
			assert.Equal(t, int32(-1), code, "%q", in)
			w := jsonlite.NewWriter(nil)
			w.String(nerr.Error())
			assert.Equal(t, string(w.Bytes()), string(out))
			continue
		}
		require.Equal(t, int32(len(out)), code)
		w := jsonlite.NewWriter(nil)
		require.NoError(t, w.Value(v))
		assert.Equal(t, string(w.Bytes()), string(out))

		// The pull API over every value: the guest's stream is walk.Summary.
		code, out = callGuest(t, rt, compiled, "stream", in)
		require.Positive(t, code, "%s", out)
		want, err := walk.Summary(nil, in)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(out))
	}
}

// BenchmarkJSONLiteWasm runs the guest's exports on the fixture inside wazero with
// WithCloseOnContextDone(true), as the host runs strategies: one instance,
// repeated calls (steady state; instantiation is measured by the host).
func BenchmarkJSONLiteWasm(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(sdkDir(), "jsonlite", "testdata", "clientmounts-all.json"))
	require.NoError(b, err)
	ctx := context.Background()
	rt, compiled := newRuntime(b, buildGuest(b, "jsonlite", "jsonlite"))
	for _, export := range []string{"stream", "run"} {
		b.Run(export, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions("_initialize").WithName(""))
			require.NoError(b, err)
			defer mod.Close(ctx)
			res, err := mod.ExportedFunction("alloc").Call(ctx, uint64(len(data)))
			require.NoError(b, err)
			require.True(b, mod.Memory().Write(uint32(res[0]), data))
			fn := mod.ExportedFunction(export)
			for b.Loop() {
				res, err := fn.Call(ctx, uint64(len(data)))
				if err != nil || int32(uint32(res[0])) < 0 {
					b.Fatal(err, res)
				}
			}
		})
	}
}
