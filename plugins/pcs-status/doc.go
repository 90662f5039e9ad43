// Package pcsstatus is the built-in discovery strategy that asks Pacemaker
// which GFS2 Filesystem resources are active on the fenced node right now.
// plugins/builtin registers Discover in the agent's built-in WebAssembly
// module; the logic is plain Go, tested natively. See README.md.
package pcsstatus

// Name is the name this strategy registers under (strategies.pcs-status).
const Name = "pcs-status"
