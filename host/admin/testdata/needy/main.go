// Command needy is a test strategy that declares the commands it needs:
// "greet", and one of "inventory" or "cat".
package main

import "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"

func init() {
	plugin.Register("needy", func(plugin.Context, plugin.Request) (plugin.Result, error) {
		return plugin.Result{Filesystems: []string{"default/fs1"}}, nil
	}, plugin.Needs("greet"), plugin.Needs("inventory", "cat"))
}

func main() {}
