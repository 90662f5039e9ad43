package jsonlite

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/assert"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/require"
)

// checkParseFloat compares parseFloat bit for bit (sign of zero and range
// error included) with the exact answer from math/big, and with
// strconv.ParseFloat, which encoding/json uses, where strconv is right:
// strconv is wrong beyond 800 significant digits (golang/go#42436; for
// "1" + 900 zeros + "e-900" it returns 1e-101).
func checkParseFloat(t *testing.T, s string) {
	t.Helper()
	got, ok := parseFloat([]byte(s))

	var exact big.Rat
	_, isRat := exact.SetString(s)
	require.True(t, isRat, s)
	want, _ := exact.Float64()
	if strings.HasPrefix(s, "-") {
		want = math.Copysign(want, -1) // big.Rat has no negative zero
	}
	require.Equal(t, !math.IsInf(want, 0), ok, "%q: range error", s)
	require.Equal(t, math.Float64bits(want), math.Float64bits(got), "%q: want %v (%x), got %v (%x)", s, want, math.Float64bits(want), got, math.Float64bits(got))

	if significantDigits(s) <= 780 {
		sc, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			t.Fatalf("%q: strconv: %v", s, err)
		}
		require.Equal(t, err == nil, ok, "%q: range error vs strconv", s)
		require.Equal(t, math.Float64bits(sc), math.Float64bits(got), "%q: strconv %v, got %v", s, sc, got)
	}
}

// significantDigits counts mantissa digits after leading zeros.
func significantDigits(s string) int {
	n := 0
	for _, c := range []byte(s) {
		switch {
		case c == 'e' || c == 'E':
			return n
		case c >= '1' && c <= '9', c == '0' && n > 0:
			n++
		}
	}
	return n
}

var hardFloats = []string{
	"0", "-0", "0.0", "-0.0e5", "1", "-1", "0.1", "0.2", "0.3", "1.5", "123456789", "1e22", "1e23", "1e-22", "1e-23",
	"9007199254740992", "9007199254740993", "9007199254740994", "9007199254740995", "18014398509481985",
	"123456789012345678", "1234567890123456789", "12345678901234567890", "0.1234567890123456789",
	"1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308", "-1.7976931348623159e308", "1e308", "1e309",
	"2.2250738585072014e-308", "2.2250738585072011e-308", "2.2250738585072012e-308", "4.9406564584124654e-324",
	"5e-324", "2.4703282292062327e-324", "2.4703282292062328e-324", "3e-324", "1e-400", "-1e-400", "1e-320",
	"1e100000", "1e-100000", "0e100000", "1e0000000000000000000001", "3.14159265358979323846264338327950288",
	"2.5e-7", "1e21", "100000000000000000000000", "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791",
	"0.000000000000000000000000000000000000000000001",
	"1" + strings.Repeat("0", 900), "1" + strings.Repeat("0", 900) + "e-900", "1" + strings.Repeat("0", 800) + "e-800",
	"0." + strings.Repeat("0", 320) + "1", "0." + strings.Repeat("0", 900) + "1e900", strings.Repeat("9", 1000) + "e-1000",
	// Halfway between two denormals, then just above it in the 800th+ digit.
	"7.4109846876186981626485318930233205854758970392148714663837852375101326090531312779794975454245398856969484704316857659638998506553390969459816219401617281718945106978546710679176872575177347315553307795408549809608457500958111373034747658096871009590975442271004757307809711118935784838675653998783503015228055934046593739791790738723868299395818481660169122019456499931289798411362062484498678713572180352209017023903285791732520220528974020802906854021606612375549983402671300035812486479041385743401875520901590172592547146296175134159774938718574737870961645638908718119841271673056017045493004705269590165763776884908267986972573366521765567941072508764337560846003984904972149117463085539556354188641513168478436313080237596295773983001708984375e-324",
	"7.4109846876186981626485318930233205854758970392148714663837852375101326090531312779794975454245398856969484704316857659638998506553390969459816219401617281718945106978546710679176872575177347315553307795408549809608457500958111373034747658096871009590975442271004757307809711118935784838675653998783503015228055934046593739791790738723868299395818481660169122019456499931289798411362062484498678713572180352209017023903285791732520220528974020802906854021606612375549983402671300035812486479041385743401875520901590172592547146296175134159774938718574737870961645638908718119841271673056017045493004705269590165763776884908267986972573366521765567941072508764337560846003984904972149117463085539556354188641513168478436313080237596295773983001708984375000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001e-324",
}

func TestParseFloatMatchesStrconv(t *testing.T) {
	for _, s := range hardFloats {
		checkParseFloat(t, s)
	}
	// Every power of ten and its neighbours, across the whole range.
	for e := -345; e <= 310; e++ {
		for _, m := range []string{"1", "9", "5", "4.9999999999999999999", "1.0000000000000000001", "2.2250738585072014", "1.7976931348623157"} {
			checkParseFloat(t, m+"e"+strconv.Itoa(e))
		}
	}
	// Round trips of shortest representations.
	for _, f := range []float64{math.MaxFloat64, math.SmallestNonzeroFloat64, 0.1, 1.0 / 3, math.Pi, 6.02214076e23, 1e-310} {
		checkParseFloat(t, strconv.FormatFloat(f, 'e', -1, 64))
		checkParseFloat(t, strconv.FormatFloat(f, 'e', 30, 64))
	}
}

// FuzzParseFloat builds JSON numbers from random parts (up to hundreds of
// digits, any decimal point, any exponent) and compares with strconv.
func FuzzParseFloat(f *testing.F) {
	f.Add(uint64(9007199254740993), uint64(0), "", uint8(0), int16(0), false)
	f.Add(uint64(24703282292062327), uint64(0), "", uint8(1), int16(-324), false)
	f.Add(uint64(17976931348623158), uint64(99), "0001", uint8(1), int16(308), true)
	f.Add(uint64(1), uint64(0), strings.Repeat("0", 300), uint8(1), int16(-20), false)
	f.Fuzz(func(t *testing.T, a, b uint64, extra string, point uint8, exp int16, neg bool) {
		buf := strconv.AppendUint(nil, a, 10)
		if b != 0 {
			buf = strconv.AppendUint(buf, b, 10)
		}
		if len(extra) > 2000 { // enough to cross maxDigits
			extra = extra[:2000]
		}
		for _, c := range []byte(extra) {
			buf = append(buf, '0'+c%10)
		}
		digits := strings.TrimLeft(string(buf), "0")
		if digits == "" {
			digits = "0"
		}
		s := digits
		if p := int(point) % (len(digits) + 1); p > 0 && p < len(digits) {
			s = digits[:p] + "." + digits[p:]
		} else if p == len(digits) && p > 0 {
			s = "0." + digits
		}
		if exp != 0 {
			s += "e" + strconv.Itoa(int(exp))
		}
		if neg {
			s = "-" + s
		}
		r := NewReader([]byte(s))
		end, _, err := r.scanNumber()
		require.NoError(t, err, s)
		require.Equal(t, len(s), end, s)
		checkParseFloat(t, s)
	})
}

func TestFloatThroughReader(t *testing.T) {
	for _, s := range hardFloats {
		want, ok := parseFloat([]byte(s))
		got, err := NewReader([]byte(s)).Float()
		if !ok {
			assert.ErrorIs(t, err, ErrMismatch, s)
			continue
		}
		require.NoError(t, err, s)
		assert.Equal(t, math.Float64bits(want), math.Float64bits(got), s)
	}
	// Where strconv is wrong (see checkParseFloat), so is encoding/json.
	s := "1" + strings.Repeat("0", 900) + "e-900"
	got, err := NewReader([]byte(s)).Float()
	require.NoError(t, err)
	assert.Equal(t, 1.0, got)
}
