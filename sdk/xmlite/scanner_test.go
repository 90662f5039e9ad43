package xmlite

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/assert"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/require"
)

// scanAll returns every token up to io.EOF. SelfClosing is cleared, since
// encoding/xml does not report it (TestSelfClosing covers it).
func scanAll(data []byte) ([]Token, error) {
	s := NewScanner(data)
	var toks []Token
	for range len(data) + 2 { // every token consumes input, so this bounds a bug's loop
		tok, err := s.Next()
		if err == io.EOF {
			return toks, nil
		}
		if err != nil {
			return toks, err
		}
		tok.SelfClosing = false
		toks = append(toks, tok)
	}
	return toks, errors.New("scanner made no progress")
}

// oracle is encoding/xml's view of the same input, in xmlite's terms.
type oracle struct {
	toks []Token
	err  error
	// Set when encoding/xml accepts something this package rejects on
	// purpose (see the package comment).
	wantReject string
	// Set when the input uses something this package deliberately does
	// not compare on (non-ASCII names).
	incomparable bool
}

func runOracle(data []byte) oracle {
	var o oracle
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var open []string
	var text []byte
	inText := false
	roots := 0
	flush := func() {
		if inText && !isSpace(text) {
			if len(open) == 0 && o.wantReject == "" {
				o.wantReject = "text outside the root element"
			}
			o.toks = append(o.toks, Token{Kind: Text, Text: string(text)})
		}
		text, inText = nil, false
	}
	name := func(n xml.Name) string {
		s := n.Local
		if n.Space != "" {
			s = n.Space + ":" + n.Local
		}
		if !isASCII(s) {
			o.incomparable = true
		}
		return s
	}
	for {
		// RawToken, because Token translates namespace prefixes, which
		// xmlite leaves alone; balance is checked here instead.
		tok, err := d.RawToken()
		if err == io.EOF {
			flush()
			if len(open) > 0 {
				o.err = errors.New("unexpected EOF: unclosed element")
			} else if roots == 0 && o.wantReject == "" {
				o.wantReject = "no root element"
			}
			return o
		}
		if err != nil {
			o.err = err
			return o
		}
		switch tok := tok.(type) {
		case xml.CharData:
			text = append(text, tok...)
			inText = true
		case xml.ProcInst:
			if !isASCII(tok.Target) {
				o.incomparable = true
			}
		case xml.Comment:
		case xml.Directive:
			if o.wantReject == "" {
				o.wantReject = "directive"
			}
		case xml.StartElement:
			flush()
			n := name(tok.Name)
			if len(open) == 0 {
				roots++
				if roots > 1 && o.wantReject == "" {
					o.wantReject = "second root element"
				}
			}
			open = append(open, n)
			t := Token{Kind: StartElement, Name: n}
			for _, a := range tok.Attr {
				an := name(a.Name)
				if _, dup := t.Attr(an); dup && o.wantReject == "" {
					o.wantReject = "duplicate attribute"
				}
				t.Attrs = append(t.Attrs, Attr{Name: an, Value: a.Value})
			}
			o.toks = append(o.toks, t)
		case xml.EndElement:
			flush()
			n := name(tok.Name)
			if len(open) == 0 || open[len(open)-1] != n {
				o.err = errors.New("unbalanced end element " + n)
				return o
			}
			open = open[:len(open)-1]
			o.toks = append(o.toks, Token{Kind: EndElement, Name: n})
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// compareWithOracle fails t when xmlite and encoding/xml disagree on data
// beyond the documented differences.
func compareWithOracle(t *testing.T, data []byte) {
	t.Helper()
	o := runOracle(data)
	got, err := scanAll(data)
	if o.incomparable {
		return
	}
	if o.err != nil {
		msg := o.err.Error()
		// The XML declaration's pseudo-attributes are not checked.
		if strings.Contains(msg, "unsupported version") || strings.Contains(msg, "CharsetReader") {
			return
		}
		require.Error(t, err, "input %q: encoding/xml rejects it: %v", data, o.err)
		return
	}
	if o.wantReject != "" {
		require.Error(t, err, "input %q: must be rejected (%s)", data, o.wantReject)
		return
	}
	require.NoError(t, err, "input %q", data)
	require.Equal(t, o.toks, got, "input %q", data)
}

func realOutputs(t *testing.T) []string {
	files, _ := filepath.Glob("testdata/*.xml")
	// The agent's recorded Pacemaker outputs, in a checkout of the whole repository.
	more, _ := filepath.Glob("../../testdata/pacemaker/*/*.xml")
	files = append(files, more...)
	require.GreaterOrEqual(t, len(files), 4)
	return files
}

// TestRealOutputsMatchEncodingXML compares the token streams of real
// crm_mon, pcs and cibadmin outputs.
func TestRealOutputsMatchEncodingXML(t *testing.T) {
	for _, f := range realOutputs(t) {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		o := runOracle(data)
		require.NoError(t, o.err, f)
		require.Empty(t, o.wantReject, f)
		got, err := scanAll(data)
		require.NoError(t, err, f)
		require.Equal(t, o.toks, got, f)
		require.Greater(t, len(got), 4, f)
	}
}

type resource struct{ ID, Agent, Role, Node string }

// crmMonResources walks crm_mon XML the way the pcs-status strategy does:
// every <resource> anywhere under <resources> (also in clones and groups),
// with the node it runs on.
func crmMonResources(data []byte) ([]resource, error) {
	s := NewScanner(data)
	var out []resource
	var cur *resource
	for {
		tok, err := s.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch {
		case tok.Kind == StartElement && tok.Name == "resource":
			id, _ := tok.Attr("id")
			agent, _ := tok.Attr("resource_agent")
			role, _ := tok.Attr("role")
			out = append(out, resource{ID: id, Agent: agent, Role: role})
			cur = &out[len(out)-1]
		case tok.Kind == StartElement && tok.Name == "node" && cur != nil:
			cur.Node, _ = tok.Attr("name")
		case tok.Kind == EndElement && tok.Name == "resource":
			cur = nil
		case tok.Kind == StartElement && tok.Name == "node_history":
			if err := s.Skip(); err != nil { // node histories also hold <resource_history>
				return nil, err
			}
		}
	}
}

func TestCrmMonWalkMatchesStructDecode(t *testing.T) {
	data, err := os.ReadFile("testdata/crm_mon-1-xml.xml")
	require.NoError(t, err)
	type xres struct {
		ID    string `xml:"id,attr"`
		Agent string `xml:"resource_agent,attr"`
		Role  string `xml:"role,attr"`
		Node  []struct {
			Name string `xml:"name,attr"`
		} `xml:"node"`
	}
	var doc struct {
		Resources struct {
			Resource []xres `xml:"resource"`
			Clone    []struct {
				Resource []xres `xml:"resource"`
				Group    []struct {
					Resource []xres `xml:"resource"`
				} `xml:"group"`
			} `xml:"clone"`
			Group []struct {
				Resource []xres `xml:"resource"`
			} `xml:"group"`
		} `xml:"resources"`
	}
	require.NoError(t, xml.Unmarshal(data, &doc))
	var want []resource
	add := func(list []xres) {
		for _, r := range list {
			x := resource{ID: r.ID, Agent: r.Agent, Role: r.Role}
			if len(r.Node) > 0 {
				x.Node = r.Node[len(r.Node)-1].Name
			}
			want = append(want, x)
		}
	}
	add(doc.Resources.Resource)
	for _, c := range doc.Resources.Clone {
		add(c.Resource)
		for _, g := range c.Group {
			add(g.Resource)
		}
	}
	for _, g := range doc.Resources.Group {
		add(g.Resource)
	}
	got, err := crmMonResources(data)
	require.NoError(t, err)
	assert.ElementsMatch(t, want, got)
	fs := 0
	for _, r := range got {
		if r.Agent == "ocf:heartbeat:Filesystem" {
			fs++
		}
	}
	assert.Equal(t, 9, fs)
}

func TestDocumentFeatures(t *testing.T) {
	doc := "\ufeff"[:0] + `<?xml version="1.0" encoding="UTF-8"?>
<!-- generated -->
<?pi some data?>
<cib a="&lt;&gt;&amp;&quot;&apos;" b='single "quoted"' c="&#65;&#x42;&#x1F600;" d="line1
line2" e="">
  <empty/>
  <text>hello &amp; <![CDATA[<raw> & ]]>world<!-- dropped --> again</text>
  <crlf>a` + "\r\n" + `b` + "\r" + `c</crlf>
  <ns:el ns:attr="1" xmlns:ns="urn:x"></ns:el >
</cib>
<!-- trailing comment -->
`
	s := NewScanner([]byte(doc))
	var toks []Token
	for {
		tok, err := s.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		toks = append(toks, tok)
	}
	assert.Equal(t, []Token{
		{Kind: StartElement, Name: "cib", Attrs: []Attr{{"a", `<>&"'`}, {"b", `single "quoted"`}, {"c", "AB😀"}, {"d", "line1\nline2"}, {"e", ""}}},
		{Kind: StartElement, Name: "empty", SelfClosing: true},
		{Kind: EndElement, Name: "empty"},
		{Kind: StartElement, Name: "text"},
		{Kind: Text, Text: "hello & <raw> & world again"},
		{Kind: EndElement, Name: "text"},
		{Kind: StartElement, Name: "crlf"},
		{Kind: Text, Text: "a\nb\nc"},
		{Kind: EndElement, Name: "crlf"},
		{Kind: StartElement, Name: "ns:el", Attrs: []Attr{{"ns:attr", "1"}, {"xmlns:ns", "urn:x"}}},
		{Kind: EndElement, Name: "ns:el"},
		{Kind: EndElement, Name: "cib"},
	}, toks)
	compareWithOracle(t, []byte(doc))

	v, ok := toks[0].Attr("c")
	assert.True(t, ok)
	assert.Equal(t, "AB😀", v)
	_, ok = toks[0].Attr("missing")
	assert.False(t, ok)
	assert.Equal(t, "StartElement", StartElement.String())
	assert.Equal(t, "TokenKind(9)", TokenKind(9).String())
}

func TestSelfClosingAndDepth(t *testing.T) {
	s := NewScanner([]byte(`<a><b x="1"/><c></c></a>`))
	var trace []string
	for {
		tok, err := s.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		e := tok.Kind.String() + ":" + tok.Name
		if tok.SelfClosing {
			e += "/"
		}
		trace = append(trace, e+"@"+string(rune('0'+s.Depth())))
	}
	assert.Equal(t, []string{"StartElement:a@1", "StartElement:b/@2", "EndElement:b@1", "StartElement:c@2", "EndElement:c@1", "EndElement:a@0"}, trace)
}

func TestSkip(t *testing.T) {
	s := NewScanner([]byte(`<r><skip a="1"><x><y/></x>text</skip><keep/><self/></r>`))
	var names []string
	for {
		tok, err := s.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if tok.Kind == StartElement {
			names = append(names, tok.Name)
			if tok.Name == "skip" || tok.Name == "self" {
				require.NoError(t, s.Skip())
			}
		}
	}
	assert.Equal(t, []string{"r", "skip", "keep", "self"}, names)

	s = NewScanner([]byte(`<r><a>`))
	_, err := s.Next()
	require.NoError(t, err)
	assert.ErrorContains(t, s.Skip(), "element <a> not closed")
}

func TestErrorsCarryOffsetsAndLines(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{``, "offset 0 (line 1): no root element"},
		{"  \n ", "offset 4 (line 2): no root element"},
		{`<a>`, "offset 3 (line 1): unexpected end of input: element <a> not closed"},
		{"<a>\n</b>", "offset 7 (line 2): element <a> closed by </b>"},
		{`<a></a></a>`, "offset 10 (line 1): unexpected end element </a>"},
		{`<a></a><b/>`, "offset 7 (line 1): second root element <b>"},
		{`x<a/>`, "offset 0 (line 1): text outside the root element"},
		{`<a/>x`, "offset 4 (line 1): text outside the root element"},
		{`<!DOCTYPE a [<!ENTITY x "y">]><a/>`, "offset 0 (line 1): document type declarations (<!DOCTYPE) are not supported"},
		{`<a><!ELEMENT a ANY></a>`, "offset 3 (line 1): unsupported markup declaration <!"},
		{`<a b="1" b="2"/>`, "offset 9 (line 1): duplicate attribute b in element <a>"},
		{`<a b=1/>`, "offset 5 (line 1): unquoted or missing value of attribute b in element <a>"},
		{`<a b/>`, "offset 4 (line 1): attribute b without = in element <a>"},
		{`<a b="<"/>`, "offset 6 (line 1): unescaped < inside attribute value"},
		{`<a b="x/>`, "offset 5 (line 1): unterminated attribute value"},
		{`<a>&foo;</a>`, "offset 3 (line 1): invalid character reference &foo; (only &lt; &gt; &amp; &quot; &apos; and &#...; are known)"},
		{`<a>&amp</a>`, "offset 3 (line 1): invalid character reference &amp (no ';')"},
		{`<a>&#0;</a>`, "offset 3 (line 1): invalid character reference &#0; (only &lt; &gt; &amp; &quot; &apos; and &#...; are known)"},
		{`<a>&#x110000;</a>`, "offset 3 (line 1): invalid character reference &#x110000; (only &lt; &gt; &amp; &quot; &apos; and &#...; are known)"},
		{"<a>\x01</a>", "offset 3 (line 1): illegal character byte 0x1"},
		{"<a>\xff</a>", "offset 3 (line 1): invalid UTF-8"},
		{"<a>\uFFFE</a>", "offset 3 (line 1): illegal character U+fffe"},
		{`<a>]]></a>`, "offset 3 (line 1): unescaped ]]> not in CDATA section"},
		{`<a><!-- x -- y --></a>`, `offset 10 (line 1): invalid sequence "--" in comment`},
		{`<a><!-- x </a>`, "offset 3 (line 1): unterminated comment"},
		{`<a><![CDATA[x</a>`, "offset 3 (line 1): unterminated CDATA section"},
		{`<? x?><a/>`, "offset 2 (line 1): expected target name after <?"},
		{`<?pi <a/>`, "offset 0 (line 1): unterminated processing instruction"},
		{"<?A\x82?><a/>", "offset 3 (line 1): non-ASCII character in processing instruction target"},
		{"<?Aé?><a/>", "offset 3 (line 1): non-ASCII character in processing instruction target"},
		{`<1a/>`, "offset 1 (line 1): expected element name after <, found '1'"},
		{`<a:b:c/>`, `offset 1 (line 1): invalid name "a:b:c": more than one ':'`},
		{`<a $="1"/>`, "offset 3 (line 1): expected attribute name in element <a>, found '$'"},
		{`<a / >`, "offset 3 (line 1): expected /> in element <a>"},
		{`<a></a x>`, "offset 7 (line 1): invalid characters between </a and >"},
		{`<a x="1"`, "offset 8 (line 1): unexpected end of input in element <a>"},
		{`<a>text`, "offset 7 (line 1): unexpected end of input: element <a> not closed"},
	} {
		_, err := scanAll([]byte(tc.in))
		require.Error(t, err, tc.in)
		assert.Equal(t, "xmlite: "+tc.msg, err.Error(), tc.in)
		var se *SyntaxError
		assert.ErrorAs(t, err, &se)
		compareWithOracle(t, []byte(tc.in))
	}

	// Errors stick.
	s := NewScanner([]byte(`<a></b>`))
	_, err := s.Next()
	require.NoError(t, err)
	_, err = s.Next()
	require.Error(t, err)
	_, err2 := s.Next()
	assert.Same(t, err, err2)
}

// The text in an unclosed element still comes out before the error.
func TestTextBeforeEOFError(t *testing.T) {
	s := NewScanner([]byte(`<a>text`))
	_, err := s.Next()
	require.NoError(t, err)
	tok, err := s.Next()
	require.NoError(t, err)
	assert.Equal(t, Token{Kind: Text, Text: "text"}, tok)
	_, err = s.Next()
	assert.ErrorContains(t, err, "not closed")
}

func TestStringsDoNotAliasInput(t *testing.T) {
	data := []byte(`<resource id="fs1">t</resource>`)
	toks, err := scanAll(data)
	require.NoError(t, err)
	for i := range data {
		data[i] = 'X'
	}
	assert.Equal(t, "resource", toks[0].Name)
	assert.Equal(t, "fs1", toks[0].Attrs[0].Value)
	assert.Equal(t, "t", toks[1].Text)
}

// Hostile shapes must stay linear: deep nesting, and long runs of
// comments between whitespace (which would be quadratic if the scanner
// rescanned collected text).
func TestHostileShapes(t *testing.T) {
	deep := strings.Repeat("<a>", 100000) + strings.Repeat("</a>", 100000)
	toks, err := scanAll([]byte(deep))
	require.NoError(t, err)
	assert.Len(t, toks, 200000)

	comments := "<a>" + strings.Repeat(" <!---->", 200000) + "</a>"
	toks, err = scanAll([]byte(comments))
	require.NoError(t, err)
	assert.Len(t, toks, 2)

	_, err = scanAll([]byte(strings.Repeat("<a>", 100000)))
	assert.ErrorContains(t, err, "not closed")
}

func FuzzScanner(f *testing.F) {
	for _, s := range []string{`<a b="1"><c/>t&amp;x<![CDATA[y]]></a>`, `<?xml version="1.0"?><a/>`, `<a><!--c--></a>`,
		`<a>&#x41;&#66;</a>`, "<a>\r\n</a>", `<a:b c:d='e'/>`, `<!DOCTYPE a><a/>`, `<a b="1" b="2"/>`, `<a/><b/>`} {
		f.Add([]byte(s))
	}
	// Small seeds only: the fuzzer minimizes every new input it finds, and
	// minimizing mutations of a 16 KB CIB eats the whole run.
	f.Add([]byte(`<pacemaker-result api-version="2.25"><resources><clone id="c"><resource id="fs" resource_agent="ocf:heartbeat:Filesystem" role="Started"><node name="n1" id="1"/></resource></clone></resources></pacemaker-result>`))
	f.Add([]byte("<cib><configuration><primitive id='fs' class=\"ocf\"><instance_attributes><nvpair name=\"fstype\" value=\"gfs2\"/></instance_attributes></primitive></configuration></cib>\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		compareWithOracle(t, data)
	})
}
