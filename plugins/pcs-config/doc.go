// Package pcsconfig is the built-in discovery strategy that reads the
// Pacemaker configuration for GFS2 Filesystem resources that may run on the
// fenced node. plugins/builtin registers Discover in the agent's built-in
// WebAssembly module; the logic is plain Go, tested natively. See README.md.
package pcsconfig

// Name is the name this strategy registers under (strategies.pcs-config).
const Name = "pcs-config"
