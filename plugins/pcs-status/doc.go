// Command pcs-status is the built-in discovery strategy that asks Pacemaker
// which GFS2 Filesystem resources are active on the fenced node right now.
// It is built as a WASI reactor (see the Makefile); main never runs.
package main

import "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"

func init() { plugin.Register("pcs-status", discover) }

func main() {}
