package jsonlite

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/require"
)

// Native benchmarks on the 77 KB kubectl ClientMount list, each beside the
// encoding/json call that does the same job.

func loadFixture(b *testing.B) []byte {
	data, err := os.ReadFile("testdata/clientmounts-all.json")
	require.NoError(b, err)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	return data
}

func BenchmarkValue(b *testing.B) {
	data := loadFixture(b)
	for b.Loop() {
		if _, err := decodeOurs(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValueEncodingJSON(b *testing.B) {
	data := loadFixture(b)
	for b.Loop() {
		if _, err := decodeOracle(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStream pulls the fields a kubectl-nnf strategy needs.
func BenchmarkStream(b *testing.B) {
	data := loadFixture(b)
	for b.Loop() {
		if _, err := streamClientMounts(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamEncodingJSON decodes the same fields into structs.
func BenchmarkStreamEncodingJSON(b *testing.B) {
	data := loadFixture(b)
	for b.Loop() {
		var doc clientMountList
		if err := json.Unmarshal(data, &doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSkip(b *testing.B) {
	data := loadFixture(b)
	for b.Loop() {
		r := NewReader(data)
		if err := r.Skip(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSkipEncodingJSONValid(b *testing.B) {
	data := loadFixture(b)
	for b.Loop() {
		if !json.Valid(data) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkWriterValue(b *testing.B) {
	data := loadFixture(b)
	v, err := decodeOurs(data)
	require.NoError(b, err)
	buf := make([]byte, 0, len(data))
	for b.Loop() {
		w := NewWriter(buf[:0])
		if err := w.Value(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriterValueEncodingJSON(b *testing.B) {
	data := loadFixture(b)
	v, err := decodeOurs(data)
	require.NoError(b, err)
	for b.Loop() {
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}
