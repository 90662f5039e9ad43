package options

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Stdin limits. fenced sends well under 1 KiB; anything near these limits is
// junk, and a fence agent must never stall or balloon on junk.
const (
	MaxStdinBytes = 1 << 20
	MaxLineBytes  = 4096
)

// ParseStdin reads key=value lines the way pacemaker-fenced writes them.
// It never fails: every bad line becomes a warning and is skipped. Reading
// stops after MaxStdinBytes. Keys are trimmed, '-' means '_', the last value
// of a key wins, and surrounding quotes around a value are removed. Unknown
// keys (fenced passes device parameters, dlm_controld adds its own) are
// ignored with a warning.
//
// pacemaker-fenced always closes stdin after the options; a writer that
// does not is not waited for past StdinIdleWait without a byte or
// StdinTotalWait in all: the agent goes on with the complete lines it has
// and warns. A terminal (a person typing) is waited for.
func ParseStdin(r io.Reader) *Parsed {
	if f, ok := r.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return parseStdin(r, 0, 0)
	}
	return parseStdin(r, StdinIdleWait, StdinTotalWait)
}

// Bounds of the wait for stdin's end (see ParseStdin).
const (
	StdinIdleWait  = 2 * time.Second
	StdinTotalWait = 5 * time.Second
)

func parseStdin(r io.Reader, idle, total time.Duration) *Parsed {
	p := &Parsed{Layer: LayerStdin, Values: map[string]string{}}
	if r == nil {
		return p
	}
	if idle > 0 {
		r = newBoundedReader(r, idle, total)
	}
	cr := &countingReader{r: io.LimitReader(r, MaxStdinBytes+1)}
	br := bufio.NewReaderSize(cr, 64<<10)
	for lineNo := 1; ; lineNo++ {
		line, terminated, tooLong, err := readLine(br, MaxLineBytes)
		var wait *stdinWaitError
		switch {
		case errors.As(err, &wait):
			if len(line) > 0 || tooLong {
				p.warn("stdin line %d: unfinished when the wait ended; ignored", lineNo)
			}
			p.warn("stdin: still open after %s; went on with the %d bytes read", wait, cr.n)
			return p
		case !terminated && cr.n > MaxStdinBytes:
			// The cap cut this line: never act on half a line.
			p.warn("stdin: more than %d bytes; line %d and the rest are ignored", MaxStdinBytes, lineNo)
		case tooLong:
			p.warn("stdin line %d: longer than %d bytes; ignored", lineNo, MaxLineBytes)
		default:
			p.parseLine(lineNo, line)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.warn("stdin: read error: %v", err)
			}
			return p
		}
	}
}

// stdinWaitError ends the read when the writer keeps stdin open.
type stdinWaitError struct{ what string }

func (e *stdinWaitError) Error() string { return e.what }

// boundedReader reads r in a goroutine, so that a read blocked on a writer
// that never closes its end can be given up on. The goroutine is left
// behind blocked: the agent exits long before it matters.
type boundedReader struct {
	chunks      chan []byte
	errc        chan error
	buf         []byte
	idle, total time.Duration
	start       time.Time
	err         error
}

func newBoundedReader(r io.Reader, idle, total time.Duration) *boundedReader {
	b := &boundedReader{chunks: make(chan []byte, 4), errc: make(chan error, 1), idle: idle, total: total, start: time.Now()}
	go func() {
		for {
			buf := make([]byte, 32<<10)
			n, err := r.Read(buf)
			if n > 0 {
				b.chunks <- buf[:n]
			}
			if err != nil {
				close(b.chunks)
				b.errc <- err
				return
			}
		}
	}()
	return b
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if len(b.buf) == 0 && b.err == nil {
		wait, what := b.idle, fmt.Sprintf("%s without data", b.idle)
		if left := b.total - time.Since(b.start); left < wait {
			wait, what = max(left, 0), b.total.String()
		}
		t := time.NewTimer(wait)
		select {
		case c, ok := <-b.chunks:
			if ok {
				b.buf = c
			} else {
				b.err = <-b.errc
			}
		case <-t.C:
			b.err = &stdinWaitError{what}
		}
		t.Stop()
	}
	if len(b.buf) > 0 {
		n := copy(p, b.buf)
		b.buf = b.buf[n:]
		return n, nil
	}
	return 0, b.err
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}

// readLine returns the next line without its "\n" (and "\r"), whether it
// ended in "\n", and whether it was longer than max (then it is consumed to
// its end and not returned).
func readLine(br *bufio.Reader, max int) (line []byte, terminated, tooLong bool, err error) {
	for {
		chunk, e := br.ReadSlice('\n')
		if !tooLong {
			line = append(line, chunk...)
			if len(line) > max+2 { // +2: the "\r\n" does not count
				tooLong, line = true, nil
			}
		}
		if errors.Is(e, bufio.ErrBufferFull) {
			continue
		}
		terminated = e == nil
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		return line, terminated, tooLong, e
	}
}

func (p *Parsed) parseLine(n int, raw []byte) {
	line := bytes.TrimSpace(raw)
	if len(line) == 0 || line[0] == '#' {
		return
	}
	k, v, ok := bytes.Cut(line, []byte("="))
	if !ok {
		p.warn("stdin line %d: no '=' (want key=value); ignored: %s", n, Quote(string(line)))
		return
	}
	key := strings.ReplaceAll(string(bytes.TrimSpace(k)), "-", "_")
	if key == "" {
		p.warn("stdin line %d: empty key; ignored", n)
		return
	}
	if !printableASCII(key) {
		p.warn("stdin line %d: key is not printable ASCII; ignored: %s", n, Quote(key))
		return
	}
	o, known := Lookup(key)
	if !known {
		p.warn("stdin line %d: unknown key %s ignored", n, Quote(key))
		return
	}
	val := unquote(string(bytes.TrimSpace(v)))
	if o.Name == Action {
		val = strings.TrimSpace(val)
	}
	p.Values[o.Name] = val
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func (p *Parsed) warn(format string, a ...any) {
	// A stream of junk lines must not become a stream of warnings.
	const maxWarnings = 50
	switch {
	case len(p.Warnings) < maxWarnings:
		p.Warnings = append(p.Warnings, fmt.Sprintf(format, a...))
	case len(p.Warnings) == maxWarnings:
		p.Warnings = append(p.Warnings, "stdin: too many bad lines; further warnings suppressed")
	}
}
