// Package intfmt formats integers in base 10 for WebAssembly guests, as
// strconv.Itoa and strconv.AppendInt(b, n, 10) do, without linking strconv:
// a guest that needs numbers only in messages and logs then pays a few
// hundred bytes instead of strconv's ~20 KB (guest size is fence latency,
// about 10 ms per MB of wasm on every fence). It imports nothing. The SDK's
// codecs and plugin package use it, and a strategy may too.
package intfmt

// AppendInt appends the decimal form of n to b and returns the result, as
// strconv.AppendInt(b, n, 10) does.
func AppendInt(b []byte, n int64) []byte {
	var tmp [20]byte
	i := len(tmp)
	u := uint64(n)
	if n < 0 {
		u = -u // also right for the smallest int64, whose negation overflows
	}
	for u >= 10 {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
	}
	i--
	tmp[i] = byte('0' + u)
	if n < 0 {
		b = append(b, '-')
	}
	return append(b, tmp[i:]...)
}

// Itoa is the decimal form of n, as strconv.Itoa gives it.
func Itoa(n int) string {
	var buf [20]byte // "-9223372036854775808" fits
	return string(AppendInt(buf[:0], int64(n)))
}
