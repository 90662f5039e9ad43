// Package uuid writes RFC 9562 UUIDs in their lowercase hyphenated form:
// version 7 for fence event ids (they sort by time), version 4 for the
// storage-fence request ids nnf-sos copies into its answers.
package uuid

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// V7 returns a UUIDv7: 48 bits of Unix milliseconds, then random bits from
// crypto/rand, so ids sort by time across processes and never collide in
// practice.
func V7(now time.Time) string {
	var u [16]byte
	if _, err := rand.Read(u[6:]); err != nil {
		// crypto/rand does not fail on Linux >= 3.17; keep going with the
		// nanoseconds rather than lose a record.
		binary.BigEndian.PutUint64(u[8:], uint64(now.UnixNano()))
	}
	ms := uint64(now.UnixMilli())
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	return format(u, 7)
}

// V4 returns a random UUIDv4.
func V4() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", err
	}
	return format(u, 4), nil
}

// format sets the version and the RFC 9562 variant and writes
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
func format(u [16]byte, version byte) string {
	u[6] = u[6]&0x0f | version<<4
	u[8] = u[8]&0x3f | 0x80 // variant 10
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}
