// Command pcs-config is the built-in discovery strategy that reads the
// Pacemaker configuration for GFS2 Filesystem resources that may run on the
// fenced node. It is built as a WASI reactor (see the Makefile); main never
// runs.
package main

import "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"

func init() { plugin.Register("pcs-config", discover) }

func main() {}
