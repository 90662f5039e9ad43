// Command genman writes fence_gfs2_recorder.8 from the agent's metadata XML:
//
//	bin/fence_gfs2_recorder -o metadata | go run ./internal/manpage/genman -version 1.2.3 > fence_gfs2_recorder.8
//
// The options come only from the metadata (one source of truth); the extra
// sections below describe what metadata cannot: files, subcommands, exit
// status.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/manpage"
)

func main() {
	version := flag.String("version", "", "version shown in the page footer")
	date := flag.String("date", "", "date shown in the page footer (empty keeps builds reproducible)")
	in := flag.String("in", "-", "metadata XML file, - for standard input")
	out := flag.String("out", "-", "output file, - for standard output")
	flag.Parse()
	if err := run(*in, *out, *version, *date); err != nil {
		fmt.Fprintln(os.Stderr, "genman:", err)
		os.Exit(1)
	}
}

func run(in, out, version, date string) error {
	var data []byte
	var err error
	if in == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(in)
	}
	if err != nil {
		return err
	}
	meta, err := manpage.Parse(data)
	if err != nil {
		return err
	}
	w := os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := manpage.Render(w, manpage.Page{Meta: meta, Version: version, Date: date, Extra: manpage.AgentSections}); err != nil {
		return err
	}
	if w != os.Stdout {
		return w.Close()
	}
	return nil
}
