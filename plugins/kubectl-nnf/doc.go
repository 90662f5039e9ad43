// Command kubectl-nnf is the built-in discovery strategy that asks
// Kubernetes which GFS2 file systems a compute node is using, from the
// node's DWS ClientMounts, and names each by its owning NnfStorage.
//
// It is a WebAssembly reactor (GOOS=wasip1, -buildmode=c-shared); the host
// never runs main. The logic lives in the other files of this package as
// plain Go, tested natively with sdk/plugin/plugintest and against the real
// kubectl. See README.md for what it reports and its configuration.
package main

import "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"

// strategyName is the name this strategy registers under and the name of
// its config section (strategies.kubectl-nnf).
const strategyName = "kubectl-nnf"

func init() { plugin.Register(strategyName, discover) }

func main() {}
