// Command site-inventory is an example site discovery strategy for
// fence_gfs2_recorder: it is not built in. It answers from a site-maintained
// inventory file that maps node names (or shell patterns) to the GFS2
// filesystems those nodes mount:
//
//	# node-or-pattern   filesystem...
//	compute-node-1      proj-a scratch
//	compute-node-*      scratch
//
// The strategy cannot open files (the sandbox has none). It reads the
// inventory through a granted command whose fixed arguments name the file,
// so the administrator, not the plugin, decides what is read:
//
//	commands:
//	  inventory: {path: /usr/bin/cat, args: [/etc/fence_gfs2_recorder/site-inventory.tsv]}
//	strategies:
//	  site-inventory: {allow: [inventory]}
//
// Build it as a WASI reactor and drop it into the plugin directory:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags='-s -w' \
//	    -o /etc/fence_gfs2_recorder/plugins.d/site-inventory.wasm .
//
// docs/PLUGINS.md walks through it.
package main

import "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"

// Name is the strategy's name: what discovery.order and the strategies
// section call it, and the file name (<Name>.wasm) in the plugin directory.
const Name = "site-inventory"

// A reactor's init runs once per instance; Register must be called there.
// Needs declares the command every fence runs, so `plugins verify`, `plugins
// list` and monitor report a configuration that does not grant it.
func init() { plugin.Register(Name, discover, plugin.Needs("inventory")) }

// main never runs in a reactor; the Go toolchain still wants it.
func main() {}
