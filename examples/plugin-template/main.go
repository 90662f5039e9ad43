// Command site-strategy is a template for a site's own discovery strategy
// for fence_gfs2_recorder. Copy this directory anywhere, rename the module
// and the strategy, and replace discover with the site's logic; README.md
// lists the commands (make build, test, verify, install, run).
//
// As shipped it answers from a site-maintained list of "node filesystem"
// lines that a granted command prints (dev-config.yaml grants /bin/cat of
// nodes.txt): the strategy sees no files, so what it reads is the
// administrator's choice, not the plugin's.
package main

import (
	"errors"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/intfmt"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// Name is the strategy's name: the key under strategies: in the agent's
// configuration, its entry in discovery.order, and <Name>.wasm in the
// plugin directory.
const Name = "site-strategy"

// listCommand is the logical command the strategy runs: the configuration
// defines it (commands.site-list) and grants it (strategies.<Name>.allow).
const listCommand = "site-list"

// init runs once per module instance; Register must be called there. Needs
// lets `plugins verify`, `plugins list` and monitor report a configuration
// that does not grant the command, before a fence is denied it.
func init() { plugin.Register(Name, discover, plugin.Needs(listCommand)) }

// main never runs in a reactor; the Go toolchain still wants it.
func main() {}

func discover(ctx plugin.Context, req plugin.Request) (plugin.Result, error) {
	res, err := ctx.Exec(listCommand)
	if err != nil {
		return plugin.Result{}, err
	}
	if err := res.Err(); err != nil {
		return plugin.Result{}, err
	}
	fs, err := filesystemsOf(req.Node, string(res.Stdout))
	if err != nil {
		return plugin.Result{}, err
	}
	ctx.Logger().Debug("listed", "node", req.Node, "filesystems", len(fs))
	return plugin.Result{Filesystems: fs, Details: map[string]any{"source": listCommand}}, nil
}

// filesystemsOf reads "node filesystem..." lines ('#' starts a comment) and
// returns the filesystems of node, matched exactly.
func filesystemsOf(node, list string) ([]string, error) {
	var fs []string
	for i, line := range strings.Split(list, "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
			continue
		case len(fields) == 1:
			return nil, errors.New("site list line " + intfmt.Itoa(i+1) + ": a node without filesystems")
		case fields[0] == node:
			fs = append(fs, fields[1:]...)
		}
	}
	return fs, nil
}
