package jsonlite

import "math"

// This file converts decimal numbers to float64 without strconv.ParseFloat,
// which (measured) adds about 20 KB to a site strategy that links nothing
// else of strconv: its error type quotes with strconv.Quote and links the
// Unicode printability tables. The built-in module links strconv already
// and would be 12.7 KB smaller with ParseFloat; this file is kept for the
// small guests, where the bytes are a fence's load time. The result is
// the correctly rounded float64, bit for bit what strconv gives (the tests
// and FuzzParseFloat compare them).
//
// Most JSON numbers take the exact fast path (Clinger): at most 19
// significant digits that fit in 53 bits, scaled by an exactly
// representable power of ten. The rest go through an exact decimal long
// arithmetic: shift the decimal digits by powers of two until the value
// is in [0.5, 1), then take 53 bits and round half to even. Digits beyond
// maxDigits are dropped but remembered (trunc), which is enough: a number
// halfway between two float64 values has at most 767 significant digits.

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

const maxDigits = 800

// decimal is 0.d[0]d[1]...d[nd-1] × 10^dp, digits as values 0-9.
type decimal struct {
	d     []byte
	nd    int
	dp    int
	trunc bool // nonzero digits were dropped after d[nd-1]
}

// parseFloat converts a number that scanNumber accepted. ok is false when
// the value is beyond float64's range (f is then ±Inf), as strconv reports
// ErrRange; values too small for a denormal round to ±0 without error.
func parseFloat(s []byte) (f float64, ok bool) {
	var dec decimal
	dec.d = make([]byte, 0, 24)
	neg := false
	i := 0
	if s[0] == '-' {
		neg = true
		i++
	}
	sawDot := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			sawDot = true
			continue
		case c < '0' || c > '9':
			goto exponent
		}
		if c == '0' && dec.nd == 0 { // leading zero
			if sawDot {
				dec.dp--
			}
			continue
		}
		if !sawDot {
			dec.dp++
		}
		if dec.nd < maxDigits {
			dec.d = append(dec.d, c-'0')
			dec.nd++
		} else if c != '0' {
			dec.trunc = true
		}
	}
exponent:
	if i < len(s) { // 'e' or 'E'
		i++
		esign := 1
		switch s[i] {
		case '+':
			i++
		case '-':
			esign = -1
			i++
		}
		e := 0
		for ; i < len(s); i++ {
			if e < 100000 { // beyond this the result is 0 or Inf anyway
				e = e*10 + int(s[i]-'0')
			}
		}
		dec.dp += e * esign
	}
	for dec.nd > 0 && dec.d[dec.nd-1] == 0 {
		dec.nd--
	}
	dec.d = dec.d[:dec.nd]

	if f, exact := dec.fast(); exact {
		if neg {
			f = -f
		}
		return f, true
	}
	bits, ok := dec.floatBits()
	if neg {
		bits |= 1 << 63
	}
	return math.Float64frombits(bits), ok
}

// fast returns the value when Clinger's exact fast path applies.
func (dec *decimal) fast() (float64, bool) {
	if dec.nd == 0 {
		return 0, true
	}
	if dec.nd > 19 || dec.trunc {
		return 0, false
	}
	var m uint64
	for _, c := range dec.d {
		m = m*10 + uint64(c)
	}
	exp := dec.dp - dec.nd // value = m × 10^exp
	const maxExact = 1 << 53
	if m >= maxExact {
		return 0, false
	}
	switch {
	case exp == 0:
		return float64(m), true
	case exp > 0 && exp <= 22:
		return float64(m) * pow10[exp], true
	case exp < 0 && exp >= -22:
		return float64(m) / pow10[-exp], true
	case exp > 22 && exp <= 22+15:
		// Move the excess power into the integer while it stays exact.
		for ; exp > 22; exp-- {
			m *= 10
			if m >= maxExact {
				return 0, false
			}
		}
		return float64(m) * pow10[22], true
	}
	return 0, false
}

const (
	mantBits = 52
	expBits  = 11
	bias     = -1023
	maxShift = 27 // a digit (≤9) shifted by this still leaves room for the carry
)

// shiftFor is how far to shift a value whose decimal point is k digits
// away from the range [0.5, 1) without overshooting much: 2^n ≤ 10^k.
var shiftFor = [...]int{1, 3, 6, 9, 13, 16, 19, 23, 26}

func shiftAmount(k int) int {
	if k < len(shiftFor) {
		return shiftFor[k]
	}
	return maxShift
}

// floatBits is the exact slow path: it returns the IEEE 754 bits of the
// correctly rounded value, and false on overflow (bits then hold ±Inf).
func (dec *decimal) floatBits() (uint64, bool) {
	const inf = uint64((1<<expBits)-1) << mantBits
	switch {
	case dec.nd == 0:
		return 0, true
	case dec.dp > 310:
		return inf, false
	case dec.dp < -330:
		return 0, true
	}
	exp := 0
	for dec.dp > 0 {
		n := shiftAmount(dec.dp)
		dec.rightShift(n)
		exp += n
	}
	for dec.dp < 0 || dec.dp == 0 && dec.d[0] < 5 {
		n := shiftAmount(-dec.dp)
		dec.leftShift(n)
		exp -= n
	}
	// The value is in [0.5, 1) × 2^exp; as a float it is [1, 2) × 2^(exp-1).
	exp--
	if exp < bias+1 { // denormal: fix the exponent, lose mantissa bits
		n := bias + 1 - exp
		for k := n; k > 0; k -= maxShift {
			dec.rightShift(min(k, maxShift))
		}
		exp += n
	}
	if exp-bias >= 1<<expBits-1 {
		return inf, false
	}
	dec.leftShift(maxShift)
	dec.leftShift(mantBits + 1 - maxShift)
	mant := dec.roundedInteger()
	if mant == 2<<mantBits { // rounding carried into a new bit
		mant >>= 1
		exp++
		if exp-bias >= 1<<expBits-1 {
			return inf, false
		}
	}
	if mant&(1<<mantBits) == 0 {
		exp = bias // denormal or zero
	}
	return mant&(1<<mantBits-1) | uint64((exp-bias)&(1<<expBits-1))<<mantBits, true
}

// trim drops trailing zero digits.
func (dec *decimal) trim() {
	for dec.nd > 0 && dec.d[dec.nd-1] == 0 {
		dec.nd--
	}
	dec.d = dec.d[:dec.nd]
	if dec.nd == 0 {
		dec.dp = 0
	}
}

// leftShift multiplies by 2^k (k ≤ maxShift).
func (dec *decimal) leftShift(k int) {
	// Digits come out least significant first; build them reversed.
	out := make([]byte, 0, dec.nd+k/3+2)
	var carry uint64
	for i := dec.nd - 1; i >= 0; i-- {
		v := uint64(dec.d[i])<<k + carry
		out = append(out, byte(v%10))
		carry = v / 10
	}
	for carry > 0 {
		out = append(out, byte(carry%10))
		carry /= 10
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	dec.dp += len(out) - dec.nd
	if len(out) > maxDigits {
		for _, c := range out[maxDigits:] {
			if c != 0 {
				dec.trunc = true
				break
			}
		}
		out = out[:maxDigits]
	}
	dec.d, dec.nd = out, len(out)
	dec.trim()
}

// rightShift divides by 2^k (k ≤ maxShift) by long division.
func (dec *decimal) rightShift(k int) {
	r := 0 // digits read
	var n uint64
	// Read digits until the partial dividend reaches 2^k.
	for n>>k == 0 {
		if r < dec.nd {
			n = n*10 + uint64(dec.d[r])
		} else {
			if n == 0 {
				dec.nd, dec.d = 0, dec.d[:0]
				return
			}
			n *= 10
		}
		r++
	}
	dec.dp -= r - 1
	mask := uint64(1)<<k - 1
	out := make([]byte, 0, dec.nd+k)
	for ; r < dec.nd; r++ {
		out = append(out, byte(n>>k))
		n = n&mask*10 + uint64(dec.d[r])
	}
	for n > 0 {
		if len(out) < maxDigits {
			out = append(out, byte(n>>k))
		} else if n>>k != 0 {
			dec.trunc = true
		}
		n = n & mask * 10
	}
	dec.d, dec.nd = out, len(out)
	dec.trim()
}

// roundedInteger returns the integer part rounded half to even (half up
// when digits were dropped, since the true value is then above half).
func (dec *decimal) roundedInteger() uint64 {
	var n uint64
	i := 0
	for ; i < dec.dp && i < dec.nd; i++ {
		n = n*10 + uint64(dec.d[i])
	}
	for ; i < dec.dp; i++ {
		n *= 10
	}
	if dec.dp >= 0 && dec.dp < dec.nd {
		d := dec.d[dec.dp]
		switch {
		case d > 5, d == 5 && (dec.dp+1 < dec.nd || dec.trunc):
			n++
		case d == 5 && n%2 == 1:
			n++ // exactly half: to even
		}
	}
	return n
}
