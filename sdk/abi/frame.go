package abi

// The exec result frame: what fgr.take copies into the guest. A 20-byte
// little-endian header (i32 exit_code, u32 flags, u32 stdout_len,
// u32 stderr_len, u32 error_len), then stdout, stderr and the error text.
// Raw bytes, not JSON: stdout is typically megabytes of kubectl JSON that
// would otherwise be escaped by the host and unescaped by the guest.

// FrameHeader is the size of the frame's fixed part.
const FrameHeader = 20

// Frame flags.
const (
	FlagTimedOut        = 1  // killed with its process group at its deadline
	FlagDenied          = 2  // not granted or not configured; nothing ran
	FlagStartFailed     = 4  // could not start (missing binary, bad request)
	FlagStdoutTruncated = 8  // stdout hit the command's output_cap
	FlagStderrTruncated = 16 // same for stderr
)

// Frame is one decoded exec result. Stdout and Stderr alias the frame's
// bytes.
type Frame struct {
	ExitCode int32
	Flags    uint32
	Stdout   []byte
	Stderr   []byte
	Error    string
}

// AppendFrame lays out f after dst and returns the extended slice.
func AppendFrame(dst []byte, f Frame) []byte {
	dst = appendLE32(dst, uint32(f.ExitCode))
	dst = appendLE32(dst, f.Flags)
	dst = appendLE32(dst, uint32(len(f.Stdout)))
	dst = appendLE32(dst, uint32(len(f.Stderr)))
	dst = appendLE32(dst, uint32(len(f.Error)))
	dst = append(dst, f.Stdout...)
	dst = append(dst, f.Stderr...)
	return append(dst, f.Error...)
}

// FrameSize is the length AppendFrame adds for these parts.
func FrameSize(stdout, stderr []byte, errMsg string) int {
	return FrameHeader + len(stdout) + len(stderr) + len(errMsg)
}

// ParseFrame decodes b; ok is false when b is shorter than the header or its
// lengths do not add up to len(b).
func ParseFrame(b []byte) (f Frame, ok bool) {
	if len(b) < FrameHeader {
		return Frame{}, false
	}
	outLen, errLen, msgLen := uint64(le32(b[8:])), uint64(le32(b[12:])), uint64(le32(b[16:]))
	if FrameHeader+outLen+errLen+msgLen != uint64(len(b)) {
		return Frame{}, false
	}
	body := b[FrameHeader:]
	return Frame{
		ExitCode: int32(le32(b[0:])),
		Flags:    le32(b[4:]),
		Stdout:   body[:outLen:outLen],
		Stderr:   body[outLen : outLen+errLen : outLen+errLen],
		Error:    string(body[outLen+errLen:]),
	}, true
}

// le32 and appendLE32 are encoding/binary's, which would link reflect
// into every guest.
func le32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func appendLE32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}
