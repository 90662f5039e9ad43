package manpage

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fence_dummy-metadata.xml is what the real fence_dummy of Debian 12's
// fence-agents prints (captured in the pacemaker lab): a metadata document we
// did not write, with select-free options, a deprecated and an obsoleting pair.
func loadDummy(t *testing.T) *Metadata {
	t.Helper()
	data, err := os.ReadFile("testdata/fence_dummy-metadata.xml")
	require.NoError(t, err)
	m, err := Parse(data)
	require.NoError(t, err)
	return m
}

func TestParseRealFenceAgentMetadata(t *testing.T) {
	m := loadDummy(t)
	assert.Equal(t, "fence_dummy", m.Name)
	assert.Equal(t, "Dummy fence agent", m.ShortDesc)
	require.NotEmpty(t, m.Parameters)
	first := m.Parameters[0]
	assert.Equal(t, "action", first.Name)
	assert.Equal(t, "-o, --action=[action]", first.CommandLine())
	assert.Equal(t, "Fencing action", first.Description())
	assert.Equal(t, "This parameter is always required. (Default Value: reboot)", first.notes())
	names := []string{}
	for _, a := range m.Actions {
		names = append(names, a.Name)
	}
	assert.Equal(t, []string{"on", "off", "reboot", "status", "monitor", "metadata", "manpage", "validate-all"}, names)
}

func TestParseRejectsWhatIsNotAgentMetadata(t *testing.T) {
	for name, doc := range map[string]string{
		"not xml":        "action=metadata\n",
		"empty":          "",
		"no name":        `<resource-agent shortdesc="x"><parameters><parameter name="a"/></parameters></resource-agent>`,
		"no parameters":  `<resource-agent name="fence_x"><parameters></parameters></resource-agent>`,
		"unnamed param":  `<resource-agent name="fence_x"><parameters><parameter/></parameters></resource-agent>`,
		"other root tag": `<html><body/></html>`,
	} {
		t.Run(name, func(t *testing.T) {
			m, err := Parse([]byte(doc))
			assert.Error(t, err)
			assert.Nil(t, m)
		})
	}
}

func TestRenderEscapesRoff(t *testing.T) {
	m := &Metadata{Name: "fence_x", ShortDesc: "x", LongDesc: ".SH INJECTED\n'also a request\nback\\slash",
		Parameters: []Parameter{{Name: "opt", Getopt: Getopt{Mixed: "--opt=[v]"},
			ShortDesc: []LangText{{Lang: "en", Text: ".TH not a macro"}}}}}
	var out bytes.Buffer
	require.NoError(t, Render(&out, Page{Meta: m}))
	s := out.String()
	for _, l := range strings.Split(s, "\n") {
		assert.False(t, strings.HasPrefix(l, ".SH INJECTED"), "description became a macro: %q", l)
		assert.False(t, strings.HasPrefix(l, ".TH not"), "description became a macro: %q", l)
	}
	assert.Contains(t, s, `back\eslash`)
	assert.Contains(t, s, `.B \-\-opt=[v]`)
}

func TestRenderWithoutMetadataIsAnError(t *testing.T) {
	assert.Error(t, Render(&bytes.Buffer{}, Page{}))
}

func TestParagraphsKeepIndentedLinesVerbatim(t *testing.T) {
	b := &strings.Builder{}
	paragraphs(b, "one\ntwo\n\n  cmd a\n  cmd b\nthree")
	assert.Equal(t, ".PP\none two\n.PP\n.nf\n.RS 4\ncmd a\ncmd b\n.RE\n.fi\n.PP\nthree\n", b.String())
}

// TestRenderedDummyPageShowsEveryOption renders through the real man(1) and
// checks what a reader sees: every command-line spelling and every stdin name.
func TestRenderedDummyPageShowsEveryOption(t *testing.T) {
	m := loadDummy(t)
	page := renderWithMan(t, Page{Meta: m, Version: "1.0", Extra: AgentSections})
	for _, p := range m.Parameters {
		assert.Contains(t, page, p.CommandLine(), "command-line spelling of %s", p.Name)
		assert.Regexp(t, `(?m)^\s+`+regexp.QuoteMeta(p.Name)+`(\s|$)`, page, "stdin name %s starts an item", p.Name)
	}
	for _, sec := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "PARAMETERS", "ACTIONS", "STDIN PARAMETERS", "FILES", "SEE ALSO"} {
		assert.Regexp(t, `(?m)^`+sec+`$`, page)
	}
	assert.Contains(t, page, "/var/cache/fence_gfs2_recorder/")
}

// renderWithMan writes the page and formats it with `man -l` as a reader
// would, in plain ASCII so option names compare byte for byte.
func renderWithMan(t *testing.T, pg Page) string {
	t.Helper()
	manPath, err := exec.LookPath("man")
	if err != nil {
		t.Skip("SKIP: man(1) not installed (apt-get install man-db groff-base)")
	}
	var src bytes.Buffer
	require.NoError(t, Render(&src, pg))
	file := filepath.Join(t.TempDir(), pg.Meta.Name+".8")
	require.NoError(t, os.WriteFile(file, src.Bytes(), 0o644))
	return manL(t, manPath, file)
}

// manL formats a page file with man -l, without a pager or overstriking, in
// the C locale so '-' stays ASCII.
func manL(t *testing.T, manPath, file string) string {
	t.Helper()
	cmd := exec.Command(manPath, "-l", file)
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=100", "LC_ALL=C", "LANG=C", "MAN_KEEP_FORMATTING=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "man -l: %s", stderr.String())
	// groff warnings mean the roff is malformed even when man exits 0.
	assert.Empty(t, strings.TrimSpace(stderr.String()), "man -l warnings")
	// Strip any overstrike (x\bx) that a terminal-less man may still emit.
	var plain []byte
	for i := 0; i < len(out); i++ {
		if i+1 < len(out) && out[i+1] == '\b' {
			i++
			continue
		}
		plain = append(plain, out[i])
	}
	return string(plain)
}
