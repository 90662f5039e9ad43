package options

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// AgentName is the agent's name as Pacemaker knows it (stonith:fence_gfs2_recorder).
const AgentName = "fence_gfs2_recorder"

const (
	shortDesc = "Records fence events and the GFS2 filesystems of the fenced node; fences nothing"
	longDesc  = "fence_gfs2_recorder does not fence. It sits in a fencing-topology level beside the real fence device of a compute node, " +
		"records every on, off and reboot (action, target node, time, recorder node) together with the GFS2 filesystems the target node was using, " +
		"found by sandboxed WebAssembly discovery strategies, into a durable audit trail " +
		"(fence-events-detailed.jsonl, fence-events-readable.log, fence-events.log in the log directory), and always reports success for on, off and reboot. " +
		"It must never be the only device of a level: it cannot power a node off."
	vendorURL = "https://github.com/NearNodeFlash/fence-gfs2-recorder"
)

// getopt is the "mixed" form fence-agents put in metadata and help:
// "-o, --action=[action]", "--log-dir=[dir]", "-v, --verbose".
func (o *Option) getopt() string {
	var b strings.Builder
	if o.Short != "" {
		b.WriteString("-" + o.Short + ", ")
	}
	if o.Long != "" {
		b.WriteString("--" + o.Long)
	} else {
		b.WriteString(o.Name)
	}
	if o.ArgName != "" {
		b.WriteString("=[" + o.ArgName + "]")
	}
	return b.String()
}

// WriteMetadata writes the fence-agent metadata XML. It validates against
// fence-agents' metadata.rng (a test runs xmllint on it). It has no side
// effects: Pacemaker's controller runs it as the unprivileged hacluster user.
func WriteMetadata(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "<?xml version=\"1.0\" ?>\n<resource-agent name=\"%s\" shortdesc=\"%s\" >\n", xmlEsc(AgentName), xmlEsc(shortDesc))
	fmt.Fprintf(bw, "<longdesc>%s</longdesc>\n<vendor-url>%s</vendor-url>\n<parameters>\n", xmlEsc(longDesc), xmlEsc(vendorURL))
	for i := range Table {
		o := &Table[i]
		if o.Hidden || o.NotInMetadata {
			continue
		}
		fmt.Fprintf(bw, "\t<parameter name=\"%s\" unique=\"0\" required=\"%s\"", xmlEsc(o.Name), boolString(o.Required))
		if o.Deprecated {
			bw.WriteString(" deprecated=\"1\"")
		}
		if o.Obsoletes != "" {
			fmt.Fprintf(bw, " obsoletes=\"%s\"", xmlEsc(o.Obsoletes))
		}
		bw.WriteString(">\n")
		fmt.Fprintf(bw, "\t\t<getopt mixed=\"%s\" />\n", xmlEsc(o.getopt()))
		fmt.Fprintf(bw, "\t\t<content type=\"%s\"", o.Kind)
		if o.Default != "" {
			fmt.Fprintf(bw, " default=\"%s\"", xmlEsc(o.Default))
		}
		bw.WriteString("  />\n")
		fmt.Fprintf(bw, "\t\t<shortdesc lang=\"en\">%s</shortdesc>\n\t</parameter>\n", xmlEsc(o.Desc))
	}
	bw.WriteString("</parameters>\n<actions>\n")
	for _, a := range Actions {
		if a == "on" {
			// Recording an unfence is harmless, but Pacemaker must not treat
			// this device as one that needs unfencing.
			bw.WriteString("\t<action name=\"on\" automatic=\"0\"/>\n")
			continue
		}
		fmt.Fprintf(bw, "\t<action name=\"%s\" />\n", xmlEsc(a))
	}
	bw.WriteString("</actions>\n</resource-agent>\n")
	return bw.Flush()
}

var xmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;", "'", "&apos;")

func xmlEsc(s string) string { return xmlReplacer.Replace(s) }

// WriteHelp writes the --help text.
func WriteHelp(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s - %s\n\n", AgentName, shortDesc)
	fmt.Fprintf(bw, "Usage: %s [options]\n       %s config [options]      print the effective configuration and where each value comes from\n", AgentName, AgentName)
	fmt.Fprintf(bw, "       %s plugins COMMAND ...   manage discovery strategies (see: %s plugins help)\n", AgentName, AgentName)
	fmt.Fprintf(bw, "       %s markers [--json] [NODE]   list nnf-sos's fence markers (storage-fence mode)\n", AgentName)
	fmt.Fprintf(bw, "       %s unfence NODE [--yes]      remove NODE's fence markers so nnf-sos restores its storage\n", AgentName)
	fmt.Fprintf(bw, "       %s < key=value lines     how Pacemaker runs it (stdin is read only when there are no arguments)\n\n", AgentName)
	bw.WriteString("Options:\n")
	tw := tabwriter.NewWriter(bw, 0, 8, 2, ' ', 0)
	for i := range Table {
		o := &Table[i]
		if o.Hidden {
			continue
		}
		desc := o.Desc
		if o.Default != "" && o.Kind != Boolean {
			desc += " (default: " + o.Default + ")"
		}
		stdinKey := o.Name
		if o.Command {
			stdinKey = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", o.getopt(), stdinKey, desc)
	}
	tw.Flush()
	fmt.Fprintf(bw, "\nActions: %s\n", strings.Join(Actions, ", "))
	bw.WriteString("The second column is the stdin key; '-' and '_' are interchangeable in keys, the last value wins, unknown keys are ignored.\n")
	bw.WriteString("on, off and reboot are recorded and always succeed; status always reports ON; monitor checks configuration and the log directory.\n")
	return bw.Flush()
}

// WriteMarkdown writes the README options table.
func WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("| stdin key | argv | type | default | config key | description |\n")
	bw.WriteString("|---|---|---|---|---|---|\n")
	for i := range Table {
		o := &Table[i]
		if o.Hidden {
			continue
		}
		key := "`" + o.Name + "`"
		for _, a := range o.StdinAliases {
			key += ", `" + a + "`"
		}
		if o.Command {
			key = "(argv only)"
		}
		def, ck := o.Default, o.ConfigKey
		if def != "" {
			def = "`" + def + "`"
		}
		if ck != "" {
			ck = "`" + ck + "`"
		}
		desc := o.Desc
		if o.Deprecated {
			desc += " (deprecated)"
		}
		fmt.Fprintf(bw, "| %s | `%s` | %s | %s | %s | %s |\n", key, o.getopt(), o.Kind, def, ck, strings.ReplaceAll(desc, "|", "\\|"))
	}
	return bw.Flush()
}
