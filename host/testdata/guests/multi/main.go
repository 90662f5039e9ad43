// Command multi is a module that serves two strategies, alpha and beta, the
// way the built-in module serves three: the host's tests use it for module
// sharing, dispatch by name and per-strategy grants on one instance.
package main

import "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"

func init() {
	plugin.Register("alpha", answer)
	plugin.Register("beta", answer)
}

func main() {}

// answer echoes the configured filesystems, says which strategy the host
// called, and first runs the configured command if there is one. A node
// named "panic" crashes the instance.
func answer(ctx plugin.Context, req plugin.Request) (plugin.Result, error) {
	details := map[string]any{"strategy": req.Strategy}
	if req.Node == "panic" {
		panic("boom from " + req.Strategy)
	}
	if cmd := req.ConfigString("command", ""); cmd != "" {
		res, err := ctx.Exec(cmd)
		if err != nil {
			return plugin.Result{Details: details}, err
		}
		if err := res.Err(); err != nil {
			return plugin.Result{Details: details}, err
		}
	}
	return plugin.Result{Filesystems: req.ConfigStrings("filesystems", nil), Details: details}, nil
}
