// Command empty is the smallest strategy built with the SDK: it answers
// "no filesystems". Its size minus bare's is the SDK's own cost.
package main

import "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"

func init() {
	plugin.Register("empty", func(plugin.Context, plugin.Request) (plugin.Result, error) {
		return plugin.Result{}, nil
	})
}

func main() {}
