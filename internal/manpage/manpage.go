// Package manpage renders a fence agent's section 8 manual page from the XML
// the agent prints for `-o metadata`.
//
// fence-agents build their man pages from metadata for the same reason we do:
// the option table that drives argv parsing, stdin parsing and the metadata
// Pacemaker reads is then also the only source of the manual, so the manual
// cannot document an option the agent does not have, or miss one it has.
package manpage

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Metadata is the part of the fence-agent metadata XML (the format checked by
// fence-agents' lib/metadata.rng) that a manual page shows.
type Metadata struct {
	XMLName    xml.Name    `xml:"resource-agent"`
	Name       string      `xml:"name,attr"`
	ShortDesc  string      `xml:"shortdesc,attr"`
	LongDesc   string      `xml:"longdesc"`
	VendorURL  string      `xml:"vendor-url"`
	Parameters []Parameter `xml:"parameters>parameter"`
	Actions    []Action    `xml:"actions>action"`
}

// Parameter is one agent option: its stdin name, its command-line spelling
// (getopt) and its description.
type Parameter struct {
	Name       string     `xml:"name,attr"`
	Required   string     `xml:"required,attr"`   // "1" when Pacemaker must always pass it
	Deprecated string     `xml:"deprecated,attr"` // "1" for an old spelling kept for compatibility
	Obsoletes  string     `xml:"obsoletes,attr"`  // the old name this parameter replaces
	Getopt     Getopt     `xml:"getopt"`
	Content    Content    `xml:"content"`
	ShortDesc  []LangText `xml:"shortdesc"`
}

// Getopt is the command-line form, e.g. "-o, --action=[action]".
type Getopt struct {
	Mixed string `xml:"mixed,attr"`
}

// Content is a parameter's type and default.
type Content struct {
	Type    string   `xml:"type,attr"`
	Default string   `xml:"default,attr"`
	Options []Option `xml:"option"`
}

// Option is one allowed value of a "select" parameter.
type Option struct {
	Value string `xml:"value,attr"`
}

// LangText is a description in one language.
type LangText struct {
	Lang string `xml:"lang,attr"`
	Text string `xml:",chardata"`
}

// Action is an action the agent supports.
type Action struct {
	Name string `xml:"name,attr"`
}

// Parse reads metadata XML and checks that it describes an agent with at
// least one parameter, so a broken `-o metadata` never becomes an empty manual.
func Parse(data []byte) (*Metadata, error) {
	var m Metadata
	if err := xml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse fence agent metadata: %w", err)
	}
	switch {
	case m.Name == "":
		return nil, errors.New("fence agent metadata: <resource-agent> has no name attribute")
	case len(m.Parameters) == 0:
		return nil, fmt.Errorf("fence agent metadata for %s: no <parameter> elements", m.Name)
	}
	for i, p := range m.Parameters {
		if p.Name == "" {
			return nil, fmt.Errorf("fence agent metadata for %s: parameter #%d has no name", m.Name, i+1)
		}
	}
	return &m, nil
}

// Description returns the English short description (or the first one).
func (p Parameter) Description() string {
	for _, t := range p.ShortDesc {
		if t.Lang == "" || t.Lang == "en" {
			return collapse(t.Text)
		}
	}
	if len(p.ShortDesc) > 0 {
		return collapse(p.ShortDesc[0].Text)
	}
	return ""
}

// CommandLine is how the option is spelled on the command line; an option
// with no getopt element is reachable through stdin only, like fenced uses it.
func (p Parameter) CommandLine() string {
	if s := strings.TrimSpace(p.Getopt.Mixed); s != "" {
		return s
	}
	return "--" + strings.ReplaceAll(p.Name, "_", "-")
}

// notes is the trailing "(Default Value: …)" style remarks fence-agents
// manuals put after each description.
func (p Parameter) notes() string {
	var parts []string
	if p.Required == "1" {
		parts = append(parts, "This parameter is always required.")
	}
	if len(p.Content.Options) > 0 {
		vals := make([]string, len(p.Content.Options))
		for i, o := range p.Content.Options {
			vals[i] = o.Value
		}
		parts = append(parts, "(Values: "+strings.Join(vals, ", ")+")")
	}
	if p.Content.Default != "" {
		parts = append(parts, "(Default Value: "+p.Content.Default+")")
	}
	if p.Obsoletes != "" {
		parts = append(parts, "Obsoletes: "+p.Obsoletes)
	}
	if p.Deprecated == "1" {
		parts = append(parts, "Deprecated: kept for compatibility.")
	}
	return strings.Join(parts, " ")
}

// Page is what Render needs beyond the metadata.
type Page struct {
	Meta    *Metadata
	Version string // shown in the footer; "" leaves it out
	Date    string // shown in the footer; "" leaves it out so builds are reproducible
	// ArgvOnly are options for people at a shell that Pacemaker never
	// passes, so they are not in the metadata; they are listed under
	// PARAMETERS and marked as such.
	ArgvOnly []Parameter
	// Extra sections appended after STDIN PARAMETERS, in order. Their bodies
	// are plain text: paragraphs separated by blank lines, lines starting with
	// two spaces kept verbatim (commands, file lists).
	Extra []Section
}

// Section is a titled block of plain text.
type Section struct {
	Title string
	Body  string
}

// actionText explains the actions every fence agent may list; an action not
// here is still listed, without a sentence, so nothing the agent supports is
// hidden.
var actionText = map[string]string{
	"on":           "Record an unfence (power on) of the target node.",
	"off":          "Record a fence (power off) of the target node.",
	"reboot":       "Record a fence (reboot) of the target node.",
	"status":       "Report the target's power status.",
	"monitor":      "Check that the agent, its configuration and its strategies are usable.",
	"list":         "List the nodes this device may fence.",
	"list-status":  "List the nodes this device may fence, with their status.",
	"metadata":     "Print the XML metadata describing this agent.",
	"manpage":      "Print this manual page.",
	"validate-all": "Validate the options passed to the agent.",
}

// Render writes the page as roff (man(7) macros).
func Render(w io.Writer, pg Page) error {
	m := pg.Meta
	if m == nil {
		return errors.New("manpage: no metadata")
	}
	b := &strings.Builder{}
	upper := strings.ToUpper(m.Name)
	fmt.Fprintf(b, ".TH %s 8 %s %s %s\n", quote(upper), quote(pg.Date),
		quote(strings.TrimSpace(m.Name+" "+pg.Version)), quote("Fence Agent"))
	// No hyphenation and ragged-right: option names must stay greppable and
	// copyable from the rendered page.
	b.WriteString(".nh\n.ad l\n")

	b.WriteString(".SH NAME\n")
	line(b, m.Name+" - "+collapse(m.ShortDesc))

	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(b, ".B %s\n", text(m.Name))
	line(b, "[OPTIONS]")
	b.WriteString(".br\n")
	fmt.Fprintf(b, ".B %s\n", text(m.Name))
	line(b, "< key=value lines on standard input")

	b.WriteString(".SH DESCRIPTION\n")
	paragraphs(b, m.LongDesc)
	b.WriteString(".PP\n")
	line(b, m.Name+" accepts options on the command line as well as from standard input. "+
		"pacemaker-fenced runs it with no arguments and passes the options as key=value lines "+
		"on standard input (the STDIN PARAMETERS below); an unknown key is ignored. "+
		"Run by hand, it takes the command-line spelling (the PARAMETERS below).")
	if u := strings.TrimSpace(m.VendorURL); u != "" {
		b.WriteString(".PP\n")
		line(b, "Vendor URL: "+u)
	}

	b.WriteString(".SH PARAMETERS\n")
	for _, p := range m.Parameters {
		b.WriteString(".TP\n")
		fmt.Fprintf(b, ".B %s\n", text(p.CommandLine()))
		line(b, sentences(p.Description(), p.notes()))
	}
	for _, p := range pg.ArgvOnly {
		b.WriteString(".TP\n")
		fmt.Fprintf(b, ".B %s\n", text(p.CommandLine()))
		line(b, sentences(p.Description(), p.notes(), "(Command line only.)"))
	}

	if len(m.Actions) > 0 {
		b.WriteString(".SH ACTIONS\n")
		for _, a := range m.Actions {
			b.WriteString(".TP\n")
			fmt.Fprintf(b, ".B %s\n", text(a.Name))
			if s := actionText[a.Name]; s != "" {
				line(b, s)
			}
		}
	}

	b.WriteString(".SH STDIN PARAMETERS\n")
	for _, p := range m.Parameters {
		b.WriteString(".TP\n")
		fmt.Fprintf(b, ".B %s\n", text(p.Name))
		line(b, sentences(p.Description(), p.notes()))
	}

	for _, s := range pg.Extra {
		fmt.Fprintf(b, ".SH %s\n", text(strings.ToUpper(s.Title)))
		paragraphs(b, s.Body)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// paragraphs turns plain text into .PP paragraphs; lines indented by two
// spaces form a no-fill block so commands and paths stay as written.
func paragraphs(b *strings.Builder, body string) {
	var para []string
	flush := func() {
		if len(para) > 0 {
			b.WriteString(".PP\n")
			line(b, strings.Join(para, " "))
			para = nil
		}
	}
	lines := strings.Split(strings.Trim(body, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "  "):
			flush()
			b.WriteString(".PP\n.nf\n.RS 4\n")
			for ; i < len(lines) && strings.HasPrefix(lines[i], "  "); i++ {
				line(b, strings.TrimPrefix(lines[i], "  "))
			}
			i--
			b.WriteString(".RE\n.fi\n")
		case strings.TrimSpace(l) == "":
			flush()
		default:
			para = append(para, strings.TrimSpace(l))
		}
	}
	flush()
}

// line writes one text line, escaped so it can never be read as a request.
func line(b *strings.Builder, s string) {
	b.WriteString(text(s))
	b.WriteByte('\n')
}

// text escapes s for roff: backslashes, minus signs (an unescaped '-' renders
// as a Unicode hyphen, and "--delay" would no longer match what a user types)
// and a leading period or apostrophe that roff would take for a request.
func text(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// quote makes a macro argument: double quotes cannot be escaped inside one,
// so they become two single quotes.
func quote(s string) string {
	return `"` + strings.ReplaceAll(text(s), `"`, "''") + `"`
}

// sentences joins non-empty parts, ending a part with a period when the
// next one would otherwise run on from it.
func sentences(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if n := len(out); n > 0 && !strings.ContainsAny(out[n-1][len(out[n-1])-1:], ".!?:)") {
			out[n-1] += "."
		}
		out = append(out, p)
	}
	return strings.Join(out, " ")
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }
