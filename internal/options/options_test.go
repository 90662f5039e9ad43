package options

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const rngPath = "/usr/share/cluster/relaxng/metadata.rng"

// The metadata must validate against fence-agents' own schema with the real
// xmllint, exactly as the fence-agents test suite checks its agents.
func TestMetadataValidatesAgainstFenceAgentsSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (apt-get install libxml2-utils)")
	}
	if _, err := os.Stat(rngPath); err != nil {
		t.Skip("fence-agents metadata.rng not installed (apt-get install fence-agents)")
	}
	var buf bytes.Buffer
	require.NoError(t, WriteMetadata(&buf))
	cmd := exec.Command(xmllint, "--noout", "--relaxng", rngPath, "-")
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "xmllint: %s\n%s", out, buf.String())
	assert.Contains(t, string(out), "validates")

	// And a broken document must fail the same check, so the test can fail.
	broken := strings.Replace(buf.String(), "<vendor-url>", "<vendor>", 1)
	broken = strings.Replace(broken, "</vendor-url>", "</vendor>", 1)
	cmd = exec.Command(xmllint, "--noout", "--relaxng", rngPath, "-")
	cmd.Stdin = strings.NewReader(broken)
	assert.Error(t, cmd.Run(), "xmllint accepted a document without vendor-url")
}

func TestMetadataListsEveryOptionAndAction(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteMetadata(&buf))
	xml := buf.String()
	for _, o := range Table {
		want := `<parameter name="` + o.Name + `"`
		if o.Hidden || o.NotInMetadata {
			assert.NotContains(t, xml, want)
			continue
		}
		assert.Contains(t, xml, want)
	}
	for _, a := range Actions {
		assert.Contains(t, xml, `<action name="`+a+`"`)
	}
	assert.Contains(t, xml, `<parameter name="plug" unique="0" required="0" obsoletes="port">`)
	assert.Contains(t, xml, `<parameter name="port" unique="0" required="0" deprecated="1">`)
	assert.Contains(t, xml, `<parameter name="action" unique="0" required="1">`)
}

func TestHelpMentionsEveryVisibleOption(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteHelp(&buf))
	for _, o := range Table {
		if o.Hidden {
			assert.NotContains(t, buf.String(), "--"+o.Long)
			continue
		}
		assert.Contains(t, buf.String(), o.getopt())
	}
}

func TestParseArgsForms(t *testing.T) {
	p, err := ParseArgs([]string{"-o", "off", "-n", "compute-node-3", "--log-dir=/tmp/x", "--kubectl_cmd", "/k", "-v", "--no-gfs2-discovery", "--delay=2.5"})
	require.NoError(t, err)
	assert.Equal(t, "off", p.Action())
	assert.Equal(t, "compute-node-3", p.Target())
	assert.Equal(t, "/tmp/x", p.Values[LogDir])
	assert.Equal(t, "/k", p.Values[KubectlCmd])
	ov, errs := p.Overrides()
	require.Empty(t, errs)
	assert.Equal(t, map[string]any{
		"log_dir": "/tmp/x", "commands.kubectl.path": "/k", "verbose": true,
		"discovery.enabled": false, "delay": 2500 * time.Millisecond,
	}, ov)

	p, err = ParseArgs([]string{"-oreboot", "--port", "c1", "--plug=c2", "--nodename", "c3"})
	require.NoError(t, err)
	assert.Equal(t, "reboot", p.Action())
	assert.Equal(t, "c3", p.Target(), "nodename wins over plug and port")
	delete(p.Values, Nodename)
	assert.Equal(t, "c2", p.Target(), "plug wins over port")
	delete(p.Values, Plug)
	assert.Equal(t, "c1", p.Target())

	p, err = ParseArgs([]string{"-vo", "status"})
	require.NoError(t, err)
	assert.Equal(t, "status", p.Action())
	assert.True(t, p.Flag(Verbose))

	p, err = ParseArgs(nil)
	require.NoError(t, err)
	assert.Equal(t, "reboot", p.Action(), "missing action is reboot, as in fence-agents")
}

func TestParseArgsSubcommands(t *testing.T) {
	p, err := ParseArgs([]string{"--config", "/etc/x.yaml", "plugins", "run", "--target", "n1"})
	require.NoError(t, err)
	assert.Equal(t, SubPlugins, p.Subcommand)
	assert.Equal(t, []string{"run", "--target", "n1"}, p.SubArgs, "everything after plugins belongs to the admin command")
	assert.Equal(t, "/etc/x.yaml", p.ConfigFile())

	p, err = ParseArgs([]string{"config", "--log-dir", "/x"})
	require.NoError(t, err)
	assert.Equal(t, SubConfig, p.Subcommand)
	assert.Equal(t, "/x", p.Values[LogDir])
}

func TestParseArgsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--bogus"},
		{"-x"},
		{"-o"},
		{"--action"},
		{"reboot"},
		{"config", "extra"},
		{"--verbose=maybe"},
	} {
		_, err := ParseArgs(args)
		require.Error(t, err, "%q", args)
		assert.True(t, errors.Is(err, ErrUsage), "%q: %v", args, err)
	}
}

func TestParseArgsBadValuesAreReportedNotFatal(t *testing.T) {
	p, err := ParseArgs([]string{"--delay", "soon", "--log-dir", "/l"})
	require.NoError(t, err)
	ov, errs := p.Overrides()
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "argv option delay")
	assert.Equal(t, map[string]any{"log_dir": "/l"}, ov, "the valid values survive")

	for _, bad := range []string{"-1", "601", "NaN", "1e9", "", "Inf"} {
		_, err := ParseDelay(bad)
		assert.Error(t, err, "delay %q", bad)
	}
}

// Exactly what pacemaker-fenced 2.1.5 sent, captured by fence_spy
// (the Pacemaker lab's fenced-stdin examples).
func TestParseStdinFromFenced(t *testing.T) {
	p := ParseStdin(strings.NewReader("nodename=compute-node-4\nspy_tag=A\naction=off\nport=compute-node-4\nsome_param=value\n"))
	assert.Equal(t, "off", p.Action())
	assert.Equal(t, "compute-node-4", p.Target())
	assert.Len(t, p.Warnings, 2, "spy_tag and some_param are device params: warned and ignored")

	// pcmk_host_map: plug has the BMC alias, nodename the node.
	p = ParseStdin(strings.NewReader("nodename=compute-node-7\nspy_tag=D\naction=reboot\nsome_param=v4\nplug=bmc-7\n"))
	assert.Equal(t, "compute-node-7", p.Target())
	assert.Equal(t, "bmc-7", p.Values[Plug])

	p = ParseStdin(strings.NewReader("spy_tag=A\naction=monitor\nsome_param=value\n"))
	assert.Equal(t, "monitor", p.Action())
	assert.Equal(t, "", p.Target())
}

func TestParseStdinSyntax(t *testing.T) {
	in := "# comment\n\n  \r\n" +
		"option=off\n" + // legacy key for action
		"action = \"reboot\"\r\n" + // spaces, quotes, CRLF; last value wins
		"log-dir='/tmp/l d'\n" + // '-' means '_', single quotes
		"gfs2_discovery=no\n" +
		"verbose\n" + // no '='
		"nodename=first\nnodename=second\n" +
		"delay=3\n" +
		"=value\n" +
		"kubectl_cmd=/usr/bin/kubectl\n" +
		"pcs_cmd=/usr/sbin/pcs\nplugin_dir=/p\nconfig_file=/c.yaml"
	p := ParseStdin(strings.NewReader(in))
	assert.Equal(t, "reboot", p.Action())
	assert.Equal(t, "second", p.Target())
	assert.Equal(t, "/c.yaml", p.ConfigFile())
	ov, errs := p.Overrides()
	require.Empty(t, errs)
	assert.Equal(t, map[string]any{
		"log_dir": "/tmp/l d", "discovery.enabled": false, "delay": 3 * time.Second,
		"commands.kubectl.path": "/usr/bin/kubectl", "commands.pcs.path": "/usr/sbin/pcs", "plugin_dir": "/p",
	}, ov)
	require.Len(t, p.Warnings, 2, "%q", p.Warnings)
	assert.Contains(t, p.Warnings[0], "line 8: no '='")
	assert.Contains(t, p.Warnings[1], "empty key")
}

func TestParseStdinBooleans(t *testing.T) {
	for v, want := range map[string]bool{"1": true, "0": false, "yes": true, "No": false, "on": true, "OFF": false, "true": true, "False": false} {
		p := ParseStdin(strings.NewReader("gfs2_discovery=" + v + "\n"))
		ov, errs := p.Overrides()
		require.Empty(t, errs, v)
		assert.Equal(t, want, ov["discovery.enabled"], v)
	}
	p := ParseStdin(strings.NewReader("gfs2_discovery=perhaps\n"))
	_, errs := p.Overrides()
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "stdin option gfs2_discovery")
}

func TestParseStdinJunkNeverCrashes(t *testing.T) {
	junk := make([]byte, 0, 70000)
	for i := 0; i < 70000; i++ {
		junk = append(junk, byte(i*7919%256))
	}
	long := strings.Repeat("x", 10*MaxLineBytes)
	in := string(junk) + "\naction=off\n" + "nodename=" + long + "\n" + long + "\nnodename=n1\n\x00\x01=\xff\n"
	p := ParseStdin(strings.NewReader(in))
	assert.Equal(t, "off", p.Action(), "good lines after junk still count")
	assert.Equal(t, "n1", p.Target(), "an over-long line is dropped, not truncated into a value")
	assert.NotEmpty(t, p.Warnings)
	assert.LessOrEqual(t, len(p.Warnings), 51, "warnings are capped")
	for _, w := range p.Warnings {
		for _, c := range []byte(w) {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("warning carries a raw byte 0x%02x: %q", c, w)
			}
		}
	}
}

func TestParseStdinCap(t *testing.T) {
	// 2 MiB of valid lines: everything past 1 MiB is ignored, including the
	// line the cap cut in half.
	var b strings.Builder
	for b.Len() < 2*MaxStdinBytes {
		b.WriteString("nodename=node-aaaaaaaaaaaaaaaa\n")
	}
	b.WriteString("action=off\n")
	p := ParseStdin(strings.NewReader(b.String()))
	assert.Equal(t, "reboot", p.Action(), "a key after the cap must not be read")
	assert.Equal(t, "node-aaaaaaaaaaaaaaaa", p.Target(), "the half line at the cap must not be used")
	require.NotEmpty(t, p.Warnings)
	assert.Contains(t, p.Warnings[len(p.Warnings)-1], "more than")
}

func TestMarkdownHasEveryVisibleOption(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteMarkdown(&buf))
	for _, o := range Table {
		if o.Hidden {
			assert.NotContains(t, buf.String(), o.Long)
			continue
		}
		assert.Contains(t, buf.String(), "`"+o.getopt()+"`")
	}
}

func FuzzParseStdin(f *testing.F) {
	f.Add([]byte("nodename=a\naction=off\n"))
	f.Add([]byte("\xff=\x00\n=\n#\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		p := ParseStdin(bytes.NewReader(in))
		_ = p.Action()
		_ = p.Target()
		_, _ = p.Overrides()
	})
}

func FuzzParseArgs(f *testing.F) {
	f.Add("-o\x00off\x00--plug=x")
	f.Fuzz(func(t *testing.T, joined string) {
		p, err := ParseArgs(strings.Split(joined, "\x00"))
		if err == nil {
			_, _ = p.Overrides()
		}
	})
}
