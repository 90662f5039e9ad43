// Command reporter is a test reporter whose behaviour its config picks
// ("mode"): it delivers the record to a granted command's stdin, fails,
// loops, exhausts its memory, answers more than the host reads, or runs a
// command it was not granted. It also serves one strategy, so it is a
// module serving both kinds.
package main

import (
	"errors"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

func init() {
	plugin.Register("reporter-strategy", func(plugin.Context, plugin.Request) (plugin.Result, error) {
		return plugin.Result{Filesystems: []string{"from-the-reporter-module"}}, nil
	})
	plugin.RegisterReporter("test-reporter", report)
}

func main() {}

var hoard [][]byte

func report(ctx plugin.Context, rep plugin.Report) error {
	switch mode := rep.ConfigString("mode", "deliver"); mode {
	case "deliver":
		res, err := plugin.ExecInput(ctx, append(rep.Record, '\n'), "sink")
		if err != nil {
			return err
		}
		return res.Err()
	case "fail":
		return errors.New("the site endpoint said no")
	case "loop":
		for {
		}
	case "bomb":
		for {
			hoard = append(hoard, make([]byte, 1<<20))
		}
	case "huge":
		return errors.New(strings.Repeat("x", 8<<20))
	case "deny":
		_, err := ctx.Exec("forbidden")
		return err
	default:
		return errors.New("unknown mode " + mode)
	}
}
