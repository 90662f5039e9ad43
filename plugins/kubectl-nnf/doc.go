// Package kubectlnnf is the built-in discovery strategy that asks
// Kubernetes which GFS2 file systems a compute node is using, from the
// node's DWS ClientMounts, and names each by its owning NnfStorage.
//
// The logic is plain Go, tested natively with sdk/plugin/plugintest and
// against the real kubectl; plugins/builtin registers Discover in the
// agent's built-in WebAssembly module. See README.md for what it reports
// and its configuration.
package kubectlnnf

// Name is the name this strategy registers under and the name of its config
// section (strategies.kubectl-nnf).
const Name = "kubectl-nnf"
