package abi

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// The frame layout is checked against encoding/binary, an independent
// little-endian encoder.
func TestFrameRoundTripsAndMatchesTheDocumentedLayout(t *testing.T) {
	f := Frame{ExitCode: -1, Flags: FlagTimedOut | FlagStderrTruncated, Stdout: []byte("out"), Stderr: []byte("e"), Error: "why"}
	b := AppendFrame(nil, f)

	want := make([]byte, FrameHeader)
	binary.LittleEndian.PutUint32(want[0:], uint32(0xffffffff))
	binary.LittleEndian.PutUint32(want[4:], FlagTimedOut|FlagStderrTruncated)
	binary.LittleEndian.PutUint32(want[8:], 3)
	binary.LittleEndian.PutUint32(want[12:], 1)
	binary.LittleEndian.PutUint32(want[16:], 3)
	want = append(want, "outewhy"...)
	if !bytes.Equal(b, want) {
		t.Fatalf("AppendFrame = %x, want %x", b, want)
	}
	if len(b) != FrameSize(f.Stdout, f.Stderr, f.Error) {
		t.Errorf("FrameSize = %d, frame is %d bytes", FrameSize(f.Stdout, f.Stderr, f.Error), len(b))
	}
	got, ok := ParseFrame(b)
	if !ok || got.ExitCode != -1 || got.Flags != f.Flags || string(got.Stdout) != "out" || string(got.Stderr) != "e" || got.Error != "why" {
		t.Errorf("ParseFrame = %+v, %v", got, ok)
	}
	for _, bad := range [][]byte{nil, b[:FrameHeader-1], b[:len(b)-1], append(b, 0)} {
		if _, ok := ParseFrame(bad); ok {
			t.Errorf("ParseFrame accepted %x", bad)
		}
	}
}

func TestSignaturesPrintAsTheHostReportsThem(t *testing.T) {
	f, ok := Lookup(Exports, ExportDiscover)
	if !ok || f.String() != "(i32, i32) -> (i64)" || !f.Required {
		t.Errorf("fgr_discover: %v %q", ok, f)
	}
	if f, _ := Lookup(Imports, ImportLog); f.String() != "(i32, i32, i32) -> ()" {
		t.Errorf("log: %q", f)
	}
	if _, ok := Lookup(Imports, "open_file"); ok {
		t.Error("found an import the ABI does not have")
	}
}
