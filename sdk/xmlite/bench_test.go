package xmlite

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Native benchmarks on real Pacemaker output, each beside encoding/xml
// doing the same job.

func loadXML(b *testing.B, name string) []byte {
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(b, err)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	return data
}

func BenchmarkScan(b *testing.B) {
	for _, name := range []string{"crm_mon-1-xml.xml", "cibadmin-Q.xml"} {
		b.Run(name, func(b *testing.B) {
			data := loadXML(b, name)
			for b.Loop() {
				s := NewScanner(data)
				for {
					_, err := s.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func BenchmarkScanEncodingXML(b *testing.B) {
	for _, name := range []string{"crm_mon-1-xml.xml", "cibadmin-Q.xml"} {
		b.Run(name, func(b *testing.B) {
			data := loadXML(b, name)
			for b.Loop() {
				d := xml.NewDecoder(bytes.NewReader(data))
				for {
					_, err := d.Token()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkCrmMonResources is the pcs-status walk: resources and nodes.
func BenchmarkCrmMonResources(b *testing.B) {
	data := loadXML(b, "crm_mon-1-xml.xml")
	for b.Loop() {
		if _, err := crmMonResources(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWasm runs the guest's scan of crm_mon output inside wazero with
// WithCloseOnContextDone(true), as the host runs strategies (one instance,
// repeated calls).
func BenchmarkWasm(b *testing.B) {
	data := loadXML(b, "crm_mon-1-xml.xml")
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	bin, err := os.ReadFile(buildGuest(b, "xmlite"))
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
