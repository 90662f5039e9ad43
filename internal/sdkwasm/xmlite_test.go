package sdkwasm

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/xmlite/testdata/guest/xmlite/dump"
)

// TestXMLiteInsideWasm runs the scanner inside a real wasip1 guest under wazero
// on the real Pacemaker outputs and on broken input, and checks it gives
// byte for byte what it gives natively: the guest's run is dump.Tokens.
func TestXMLiteInsideWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm guest")
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	bin, err := os.ReadFile(buildGuest(t, "xmlite", "xmlite"))
	require.NoError(t, err)
	compiled, err := rt.CompileModule(ctx, bin)
	require.NoError(t, err)

	var inputs [][]byte
	files, _ := filepath.Glob(filepath.Join(sdkDir(), "xmlite", "testdata", "*.xml"))
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		inputs = append(inputs, data)
	}
	inputs = append(inputs, []byte(`<a x="&lt;&#x1F600;"><skip><b/></skip>t&amp;<![CDATA[c]]></a>`),
		[]byte(`<a><b></a>`), []byte(`<!DOCTYPE x><x/>`), []byte("<a>\xff</a>"))
	for _, in := range inputs {
		mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions("_initialize").WithName(""))
		require.NoError(t, err)
		res, err := mod.ExportedFunction("alloc").Call(ctx, uint64(len(in)))
		require.NoError(t, err)
		require.True(t, mod.Memory().Write(uint32(res[0]), in))
		n, err := mod.ExportedFunction("run").Call(ctx, uint64(len(in)))
		require.NoError(t, err)
		ptr, err := mod.ExportedFunction("out_ptr").Call(ctx)
		require.NoError(t, err)
		out, ok := mod.Memory().Read(uint32(ptr[0]), uint32(n[0]))
		require.True(t, ok)
		assert.Equal(t, string(dump.Tokens(nil, in)), string(out))
		require.NoError(t, mod.Close(ctx))
	}
}

// BenchmarkXMLiteWasm runs the guest's scan of crm_mon output inside wazero with
// WithCloseOnContextDone(true), as the host runs strategies (one instance,
// repeated calls).
func BenchmarkXMLiteWasm(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(sdkDir(), "xmlite", "testdata", "crm_mon-1-xml.xml"))
	require.NoError(b, err)
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	bin, err := os.ReadFile(buildGuest(b, "xmlite", "xmlite"))
	require.NoError(b, err)
	mod, err := rt.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	require.NoError(b, err)
	res, err := mod.ExportedFunction("alloc").Call(ctx, uint64(len(data)))
	require.NoError(b, err)
	require.True(b, mod.Memory().Write(uint32(res[0]), data))
	run := mod.ExportedFunction("run")
	for b.Loop() {
		if _, err := run.Call(ctx, uint64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
