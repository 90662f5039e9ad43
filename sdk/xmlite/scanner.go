// Package xmlite is a small pull scanner for the XML that Pacemaker tools
// print (crm_mon --output-as=xml, pcs status xml, cibadmin -Q), for use in
// WebAssembly guests.
//
// encoding/xml imports fmt and reflect, which would add over a megabyte to
// every guest (about 10 ms per fence). This package imports only io,
// unicode/utf8 and the SDK's intfmt (not even strconv, whose Quote alone adds
// 28 KB of wasm); a test keeps it that way.
//
// It reads well-formed XML 1.0 documents in UTF-8: elements, attributes,
// text, CDATA sections, comments and processing instructions (including the
// <?xml ...?> declaration). It checks what encoding/xml checks in strict
// mode (the fuzz test compares them) and a little more:
//   - exactly one root element, and no text outside it;
//   - no duplicate attributes in one element;
//   - no document type declaration: <!DOCTYPE ...> (and any other <!...>
//     directive) is an error, so entity-expansion attacks cannot start;
//   - element and attribute names are ASCII (letters, digits, '_', ':', '.',
//     '-'; at most one ':'); encoding/xml also accepts non-ASCII letters.
//
// It does less than encoding/xml in a few places, all irrelevant to
// Pacemaker output: no namespace translation (names are returned as written,
// "prefix:local"), no charset conversion (the encoding named in the XML
// declaration is not checked; input must be UTF-8 and is validated as such),
// and the XML declaration's version is not checked.
//
// Usage:
//
//	s := xmlite.NewScanner(out)
//	for {
//		tok, err := s.Next()
//		if err == io.EOF {
//			break
//		}
//		if err != nil {
//			return err
//		}
//		if tok.Kind == xmlite.StartElement && tok.Name == "resource" {
//			agent, _ := tok.Attr("resource_agent")
//			...
//		}
//	}
package xmlite

import (
	"io"
	"unicode/utf8"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/intfmt"
)

// TokenKind says what a Token is.
type TokenKind int

const (
	StartElement TokenKind = iota + 1 // <name attr="v"> or <name/>
	EndElement                        // </name>, also sent after a self-closing element
	Text                              // character data (never whitespace-only)
)

func (k TokenKind) String() string {
	switch k {
	case StartElement:
		return "StartElement"
	case EndElement:
		return "EndElement"
	case Text:
		return "Text"
	}
	return "TokenKind(" + intfmt.Itoa(int(k)) + ")"
}

// Attr is one attribute, its value with entities decoded.
type Attr struct{ Name, Value string }

// Token is one piece of the document.
//
// A self-closing element <a/> gives a StartElement with SelfClosing set,
// then an EndElement, so callers can track nesting one way.
//
// Text merges adjacent character data, entity references and CDATA
// sections (comments and processing instructions between them are
// dropped); it is not trimmed, and text that is only whitespace is not
// returned at all. Line ends are normalized to "\n" as XML requires.
type Token struct {
	Kind        TokenKind
	Name        string // element name, for StartElement and EndElement
	Attrs       []Attr // StartElement only, in document order
	SelfClosing bool   // StartElement only
	Text        string // Text only
}

// Attr returns the value of the attribute called name.
func (t Token) Attr(name string) (string, bool) {
	for _, a := range t.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// SyntaxError is malformed input: where, and what is wrong.
type SyntaxError struct {
	Offset int // byte offset into the input
	Line   int // 1-based line of Offset
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "xmlite: offset " + intfmt.Itoa(e.Offset) + " (line " + intfmt.Itoa(e.Line) + "): " + e.Msg
}

// Scanner reads one XML document from a byte slice, one token at a time.
// After the first error every call returns it again.
type Scanner struct {
	data      []byte
	pos       int
	open      []string // names of the open elements
	closeNext bool     // the last token was a self-closing start
	rootSeen  bool
	err       error
	buf       []byte // scratch for decoding text
	attrs     []Attr // scratch for the attributes of one element
	names     *[nameCacheSize]string
}

const nameCacheSize = 256

// NewScanner returns a Scanner over data. It does not modify data, and the
// strings it returns do not alias it.
func NewScanner(data []byte) *Scanner { return &Scanner{data: data} }

// Offset returns the byte offset of the next unread byte.
func (s *Scanner) Offset() int { return s.pos }

// Depth returns how many elements are open: 1 after the root's
// StartElement, 0 after its EndElement.
func (s *Scanner) Depth() int { return len(s.open) }

func (s *Scanner) fail(off int, msg string) error {
	if s.err == nil {
		line := 1
		for _, c := range s.data[:min(off, len(s.data))] {
			if c == '\n' {
				line++
			}
		}
		s.err = &SyntaxError{Offset: off, Line: line, Msg: msg}
	}
	return s.err
}

// Next returns the next token. At the end of a complete document it returns
// io.EOF; a document that ends early (unclosed elements, no root) is an
// error instead.
func (s *Scanner) Next() (Token, error) {
	if s.err != nil {
		return Token{}, s.err
	}
	if s.closeNext {
		s.closeNext = false
		name := s.open[len(s.open)-1]
		s.open = s.open[:len(s.open)-1]
		return Token{Kind: EndElement, Name: name}, nil
	}
	text := s.buf[:0]
	textStart := -1 // offset of the first non-whitespace text, if any
	for {
		if s.pos >= len(s.data) {
			if textStart >= 0 {
				return s.textToken(text, textStart)
			}
			break
		}
		if s.data[s.pos] != '<' {
			start, before := s.pos, len(text)
			var err error
			if text, err = s.charData(text); err != nil {
				return Token{}, err
			}
			if textStart < 0 && !isSpace(text[before:]) {
				textStart = start
			}
			continue
		}
		switch {
		case hasPrefixAt(s.data, s.pos, "<!--"):
			if err := s.comment(); err != nil {
				return Token{}, err
			}
			continue
		case hasPrefixAt(s.data, s.pos, "<![CDATA["):
			start, before := s.pos, len(text)
			var err error
			if text, err = s.cdata(text); err != nil {
				return Token{}, err
			}
			if textStart < 0 && !isSpace(text[before:]) {
				textStart = start
			}
			continue
		case hasPrefixAt(s.data, s.pos, "<?"):
			if err := s.procInst(); err != nil {
				return Token{}, err
			}
			continue
		case hasPrefixAt(s.data, s.pos, "<!DOCTYPE"):
			return Token{}, s.fail(s.pos, "document type declarations (<!DOCTYPE) are not supported")
		case hasPrefixAt(s.data, s.pos, "<!"):
			return Token{}, s.fail(s.pos, "unsupported markup declaration <!")
		}
		if textStart >= 0 {
			return s.textToken(text, textStart)
		}
		if hasPrefixAt(s.data, s.pos, "</") {
			return s.endTag()
		}
		return s.startTag()
	}
	s.buf = text[:0]
	switch {
	case len(s.open) > 0:
		return Token{}, s.fail(s.pos, "unexpected end of input: element <"+s.open[len(s.open)-1]+"> not closed")
	case !s.rootSeen:
		return Token{}, s.fail(s.pos, "no root element")
	}
	return Token{}, io.EOF
}

// textToken returns collected text, which must be inside the root.
func (s *Scanner) textToken(text []byte, start int) (Token, error) {
	s.buf = text[:0]
	if len(s.open) == 0 {
		return Token{}, s.fail(start, "text outside the root element")
	}
	return Token{Kind: Text, Text: string(text)}, nil
}

func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func hasPrefixAt(data []byte, i int, prefix string) bool {
	return len(data)-i >= len(prefix) && string(data[i:i+len(prefix)]) == prefix
}

func (s *Scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// name reads an XML name (ASCII only, at most one colon).
func (s *Scanner) name() (string, bool) {
	start := s.pos
	if s.pos >= len(s.data) || !isNameStart(s.data[s.pos]) {
		return "", false
	}
	colons := 0
	h := uint32(2166136261) // FNV-1a, for intern
	for s.pos < len(s.data) && isNameByte(s.data[s.pos]) {
		c := s.data[s.pos]
		if c == ':' {
			colons++
		}
		h = (h ^ uint32(c)) * 16777619
		s.pos++
	}
	if colons > 1 {
		s.fail(start, "invalid name \""+string(s.data[start:s.pos])+"\": more than one ':'")
		return "", false
	}
	return s.intern(s.data[start:s.pos], h), true
}

// intern returns b as a string, allocating only the first time a name is
// seen (per hash slot): Pacemaker output repeats a few dozen element and
// attribute names, and allocation is what costs most inside wasm.
func (s *Scanner) intern(b []byte, h uint32) string {
	if s.names == nil {
		s.names = new([nameCacheSize]string)
	}
	slot := &s.names[h%nameCacheSize]
	if *slot != string(b) { // the comparison does not allocate
		*slot = string(b)
	}
	return *slot
}

func isNameStart(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':'
}

func isNameByte(c byte) bool {
	return isNameStart(c) || '0' <= c && c <= '9' || c == '.' || c == '-'
}

// describe names the byte at i for an error message.
func (s *Scanner) describe(i int) string {
	if i >= len(s.data) {
		return "end of input"
	}
	if c := s.data[i]; c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	return "byte 0x" + hex(uint32(s.data[i]))
}

func (s *Scanner) startTag() (Token, error) {
	tagStart := s.pos
	s.pos++ // '<'
	name, ok := s.name()
	if !ok {
		return Token{}, s.fail(s.pos, "expected element name after <, found "+s.describe(s.pos))
	}
	if len(s.open) == 0 && s.rootSeen {
		return Token{}, s.fail(tagStart, "second root element <"+name+">")
	}
	tok := Token{Kind: StartElement, Name: name}
	s.attrs = s.attrs[:0]
	for {
		s.skipSpace()
		if s.pos >= len(s.data) {
			return Token{}, s.fail(s.pos, "unexpected end of input in element <"+name+">")
		}
		switch s.data[s.pos] {
		case '/':
			if !hasPrefixAt(s.data, s.pos, "/>") {
				return Token{}, s.fail(s.pos, "expected /> in element <"+name+">")
			}
			s.pos += 2
			tok.SelfClosing = true
			s.closeNext = true
		case '>':
			s.pos++
		default:
			attrStart := s.pos
			an, ok := s.name()
			if !ok {
				return Token{}, s.fail(s.pos, "expected attribute name in element <"+name+">, found "+s.describe(s.pos))
			}
			s.skipSpace()
			if s.pos >= len(s.data) || s.data[s.pos] != '=' {
				return Token{}, s.fail(s.pos, "attribute "+an+" without = in element <"+name+">")
			}
			s.pos++
			s.skipSpace()
			if s.pos >= len(s.data) || s.data[s.pos] != '"' && s.data[s.pos] != '\'' {
				return Token{}, s.fail(s.pos, "unquoted or missing value of attribute "+an+" in element <"+name+">")
			}
			if _, dup := (Token{Attrs: s.attrs}).Attr(an); dup {
				return Token{}, s.fail(attrStart, "duplicate attribute "+an+" in element <"+name+">")
			}
			v, err := s.attrValue()
			if err != nil {
				return Token{}, err
			}
			s.attrs = append(s.attrs, Attr{Name: an, Value: v})
			continue
		}
		if len(s.attrs) > 0 {
			// One allocation of the right size; the scratch is reused.
			tok.Attrs = append([]Attr(nil), s.attrs...)
		}
		s.open = append(s.open, name)
		s.rootSeen = true
		return tok, nil
	}
}

func (s *Scanner) endTag() (Token, error) {
	s.pos += 2 // "</"
	name, ok := s.name()
	if !ok {
		return Token{}, s.fail(s.pos, "expected element name after </, found "+s.describe(s.pos))
	}
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != '>' {
		return Token{}, s.fail(s.pos, "invalid characters between </"+name+" and >")
	}
	if len(s.open) == 0 {
		return Token{}, s.fail(s.pos, "unexpected end element </"+name+">")
	}
	if top := s.open[len(s.open)-1]; top != name {
		return Token{}, s.fail(s.pos, "element <"+top+"> closed by </"+name+">")
	}
	s.pos++
	s.open = s.open[:len(s.open)-1]
	return Token{Kind: EndElement, Name: name}, nil
}

// attrValue decodes the quoted value at s.pos.
func (s *Scanner) attrValue() (string, error) {
	quote := s.data[s.pos]
	s.pos++
	start := s.pos
	// Fast path: printable ASCII without references, as Pacemaker writes.
	for i := start; i < len(s.data); i++ {
		c := s.data[i]
		if c == quote {
			s.pos = i + 1
			return string(s.data[start:i]), nil
		}
		if c == '&' || c == '<' || c == '\r' || c >= utf8.RuneSelf || c < 0x20 && c != '\t' && c != '\n' {
			break
		}
	}
	buf, err := s.decode(s.buf[:0], quote)
	if err != nil {
		return "", err
	}
	s.buf = buf[:0]
	return string(buf), nil
}

// charData decodes text up to the next '<' (or the end) and appends it.
func (s *Scanner) charData(text []byte) ([]byte, error) {
	// Fast path: whitespace between tags, the bulk of Pacemaker output.
	i := s.pos
	for i < len(s.data) && (s.data[i] == ' ' || s.data[i] == '\n' || s.data[i] == '\t') {
		i++
	}
	if i < len(s.data) && s.data[i] == '<' {
		text = append(text, s.data[s.pos:i]...)
		s.pos = i
		return text, nil
	}
	return s.decode(text, 0)
}

// decode appends the text at s.pos, decoding references and normalizing
// line ends, up to the closing quote (consumed) or, for quote 0, up to '<'
// or the end of input. It rejects what XML forbids there: '<' in a value,
// "]]>" in text, invalid UTF-8 and characters outside XML's Char range.
func (s *Scanner) decode(out []byte, quote byte) ([]byte, error) {
	start := s.pos
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case quote != 0 && c == quote:
			s.pos++
			return out, nil
		case c == '<':
			if quote != 0 {
				return nil, s.fail(s.pos, "unescaped < inside attribute value")
			}
			return out, nil
		case c == '&':
			var err error
			if out, err = s.reference(out); err != nil {
				return nil, err
			}
		case c == ']' && quote == 0 && hasPrefixAt(s.data, s.pos, "]]>"):
			return nil, s.fail(s.pos, "unescaped ]]> not in CDATA section")
		default:
			var err error
			if out, err = s.char(out); err != nil {
				return nil, err
			}
		}
	}
	if quote != 0 {
		return nil, s.fail(start-1, "unterminated attribute value")
	}
	return out, nil
}

// isChar reports whether r is in XML 1.0's Char production.
func isChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// reference decodes the entity or character reference at s.pos: one of
// XML's five predefined entities, or &#decimal; / &#xhex;.
func (s *Scanner) reference(out []byte) ([]byte, error) {
	start := s.pos
	i := start + 1
	for i < len(s.data) && (isNameByte(s.data[i]) || s.data[i] == '#') {
		i++
	}
	ref := s.data[start+1 : i]
	if i >= len(s.data) || s.data[i] != ';' {
		return nil, s.fail(start, "invalid character reference &"+string(ref)+" (no ';')")
	}
	s.pos = i + 1
	switch string(ref) {
	case "lt":
		return append(out, '<'), nil
	case "gt":
		return append(out, '>'), nil
	case "amp":
		return append(out, '&'), nil
	case "quot":
		return append(out, '"'), nil
	case "apos":
		return append(out, '\''), nil
	}
	r, ok := charRef(ref)
	if !ok {
		return nil, s.fail(start, "invalid character reference &"+string(ref)+"; (only &lt; &gt; &amp; &quot; &apos; and &#...; are known)")
	}
	return utf8.AppendRune(out, r), nil
}

// charRef decodes "#65" or "#x41". A surrogate decodes to U+FFFD (as in
// encoding/xml); other code points outside XML's Char range are errors.
func charRef(ref []byte) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	digits, base := ref[1:], rune(10)
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		return 0, false
	}
	var r rune
	for _, c := range digits {
		var d rune
		switch {
		case '0' <= c && c <= '9':
			d = rune(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return 0, false
		}
		r = r*base + d
		if r > utf8.MaxRune {
			return 0, false
		}
	}
	if r >= 0xD800 && r < 0xE000 {
		return utf8.RuneError, true
	}
	return r, isChar(r)
}

// comment skips <!-- ... -->, in which "--" may only come as the end.
func (s *Scanner) comment() error {
	start := s.pos
	for i := s.pos + 4; i+1 < len(s.data); i++ {
		if s.data[i] == '-' && s.data[i+1] == '-' {
			if i+2 < len(s.data) && s.data[i+2] == '>' {
				s.pos = i + 3
				return nil
			}
			if i+2 < len(s.data) {
				return s.fail(i, `invalid sequence "--" in comment`)
			}
			break
		}
	}
	return s.fail(start, "unterminated comment")
}

// cdata appends the content of <![CDATA[ ... ]]>, validating characters.
func (s *Scanner) cdata(out []byte) ([]byte, error) {
	start := s.pos
	s.pos += len("<![CDATA[")
	for s.pos < len(s.data) {
		if hasPrefixAt(s.data, s.pos, "]]>") {
			s.pos += 3
			return out, nil
		}
		var err error
		if out, err = s.char(out); err != nil {
			return nil, err
		}
	}
	return nil, s.fail(start, "unterminated CDATA section")
}

// char appends the character at s.pos, turning "\r\n" and "\r" into "\n"
// and rejecting invalid UTF-8 and characters outside XML's Char range.
func (s *Scanner) char(out []byte) ([]byte, error) {
	c := s.data[s.pos]
	switch {
	case c == '\r':
		out = append(out, '\n')
		s.pos++
		if s.pos < len(s.data) && s.data[s.pos] == '\n' {
			s.pos++
		}
	case c < utf8.RuneSelf:
		if c < 0x20 && c != '\t' && c != '\n' {
			return nil, s.fail(s.pos, "illegal character "+s.describe(s.pos))
		}
		out = append(out, c)
		s.pos++
	default:
		r, size := utf8.DecodeRune(s.data[s.pos:])
		if r == utf8.RuneError && size == 1 {
			return nil, s.fail(s.pos, "invalid UTF-8")
		}
		if !isChar(r) {
			return nil, s.fail(s.pos, "illegal character U+"+hex(uint32(r)))
		}
		out = append(out, s.data[s.pos:s.pos+size]...)
		s.pos += size
	}
	return out, nil
}

// procInst skips <?target ...?>, including the XML declaration.
func (s *Scanner) procInst() error {
	start := s.pos
	s.pos += 2
	if _, ok := s.name(); !ok {
		return s.fail(s.pos, "expected target name after <?")
	}
	if s.pos < len(s.data) && s.data[s.pos] >= utf8.RuneSelf {
		// The target name goes on with a non-ASCII character: names are
		// ASCII here, as for elements and attributes.
		return s.fail(s.pos, "non-ASCII character in processing instruction target")
	}
	for i := s.pos; i+1 < len(s.data); i++ {
		if s.data[i] == '?' && s.data[i+1] == '>' {
			s.pos = i + 2
			return nil
		}
	}
	return s.fail(start, "unterminated processing instruction")
}

// Skip consumes tokens up to and including the EndElement of the innermost
// open element: called right after a StartElement, it passes over that
// element's whole subtree (a self-closing one included). Use it for
// subtrees a caller does not need, such as crm_mon's node_history.
func (s *Scanner) Skip() error {
	depth := len(s.open)
	for {
		tok, err := s.Next()
		if err != nil {
			if err == io.EOF {
				return s.fail(s.pos, "Skip called outside an element")
			}
			return err
		}
		if tok.Kind == EndElement && len(s.open) < depth {
			return nil
		}
	}
}

// hex formats a character code for error messages without strconv.
func hex(n uint32) string {
	const digits = "0123456789abcdef"
	var b [8]byte
	i := len(b)
	for {
		i--
		b[i] = digits[n&15]
		n >>= 4
		if n == 0 {
			return string(b[i:])
		}
	}
}
