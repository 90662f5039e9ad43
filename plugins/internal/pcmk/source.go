package pcmk

import (
	"errors"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// Command is one way to obtain a document: a logical command name the
// strategy must be granted, and its arguments.
type Command struct {
	Name string
	Args []string
}

// Names lists the logical command names of cmds, each once, in order: what
// a strategy declares it needs when any of cmds will do.
func Names(cmds []Command) []string {
	var names []string
	for _, c := range cmds {
		names = AppendOnce(names, c.Name)
	}
	return names
}

// String is the command line as an operator would type it.
func (c Command) String() string { return strings.Join(append([]string{c.Name}, c.Args...), " ") }

// FirstParsed runs cmds in order and returns what parse makes of the first
// output it accepts, with the command that produced it. Every command that
// was denied, failed, or printed something parse rejected is described in
// tried; when none succeeds the error joins those descriptions.
func FirstParsed[T any](ctx plugin.Context, cmds []Command, parse func([]byte) (T, error)) (doc T, used Command, tried []string, err error) {
	for _, c := range cmds {
		v, why := runParsed(ctx, c, parse)
		if why == "" {
			return v, c, tried, nil
		}
		tried = append(tried, c.String()+": "+why)
		ctx.Logger().Debug("pacemaker source failed", "command", c.String(), "error", why)
	}
	return doc, Command{}, tried, errors.New(strings.Join(tried, "; "))
}

func runParsed[T any](ctx plugin.Context, c Command, parse func([]byte) (T, error)) (v T, why string) {
	res, err := ctx.Exec(c.Name, c.Args...)
	if err != nil {
		if errors.Is(err, plugin.ErrDenied) {
			return v, "not allowed for this strategy"
		}
		return v, err.Error()
	}
	if res.TimedOut {
		return v, "timed out"
	}
	if res.StdoutTruncated {
		return v, "output larger than the command's output cap"
	}
	doc, perr := parse(res.Stdout)
	if res.ExitCode != 0 {
		// crm_mon --output-as=xml explains its failure in the XML itself;
		// prefer that over the bare exit status when it parsed to an error.
		why = res.Err().Error()
		if perr != nil && trim(string(res.Stdout)) != "" {
			why += " (" + perr.Error() + ")"
		}
		return v, why
	}
	if perr != nil {
		return v, perr.Error()
	}
	return doc, ""
}
