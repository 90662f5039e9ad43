// Command genman writes fence_gfs2_recorder.8:
//
//	go run ./internal/manpage/genman -version 1.2.3 -out bin/man/fence_gfs2_recorder.8
//
// The options come from the agent's option table through the very function
// that prints `fence_gfs2_recorder -o metadata` (options.WriteMetadata), so
// the manual, the metadata Pacemaker reads and the parser share one source.
// Options the table keeps out of the metadata (argv-only conveniences) are
// added from the same table. -in renders some other agent's metadata file.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/manpage"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/options"
)

func main() {
	version := flag.String("version", "", "version shown in the page footer")
	date := flag.String("date", "", "date shown in the page footer (empty keeps builds reproducible)")
	in := flag.String("in", "", "render this metadata XML file (- for stdin) instead of the agent's own table")
	out := flag.String("out", "-", "output file, - for standard output")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "genman: unexpected arguments:", flag.Args())
		os.Exit(2)
	}
	if err := run(*in, *out, *version, *date); err != nil {
		fmt.Fprintln(os.Stderr, "genman:", err)
		os.Exit(1)
	}
}

func run(in, out, version, date string) error {
	pg, err := page(in, version, date)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := manpage.Render(&buf, pg); err != nil {
		return err
	}
	if out == "-" {
		_, err = os.Stdout.Write(buf.Bytes())
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// page builds the page for the agent's own table, or for a metadata file.
func page(in, version, date string) (manpage.Page, error) {
	var xml []byte
	var err error
	switch in {
	case "":
		var b bytes.Buffer
		err = options.WriteMetadata(&b)
		xml = b.Bytes()
	case "-":
		xml, err = io.ReadAll(os.Stdin)
	default:
		xml, err = os.ReadFile(in)
	}
	if err != nil {
		return manpage.Page{}, err
	}
	meta, err := manpage.Parse(xml)
	if err != nil {
		return manpage.Page{}, err
	}
	pg := manpage.Page{Meta: meta, Version: version, Date: date}
	if in == "" {
		pg.ArgvOnly = argvOnly()
		pg.Extra = manpage.AgentSections
	}
	return pg, nil
}

// argvOnly lists the table's options that are shown to people but not to
// Pacemaker.
func argvOnly() []manpage.Parameter {
	var ps []manpage.Parameter
	for _, o := range options.Table {
		if o.Hidden || !o.NotInMetadata {
			continue
		}
		mixed := ""
		if o.Short != "" {
			mixed = "-" + o.Short + ", "
		}
		if o.Long != "" {
			mixed += "--" + o.Long
		}
		if o.ArgName != "" {
			mixed += "=[" + o.ArgName + "]"
		}
		p := manpage.Parameter{Name: o.Name, Getopt: manpage.Getopt{Mixed: mixed},
			ShortDesc: []manpage.LangText{{Lang: "en", Text: o.Desc}}}
		p.Content.Default = o.Default
		ps = append(ps, p)
	}
	return ps
}
