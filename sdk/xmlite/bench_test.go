package xmlite

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/require"
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
