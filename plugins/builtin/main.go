// Command builtin is the agent's built-in WebAssembly module: one WASI
// reactor that serves the three built-in discovery strategies and the
// built-in k8s-event reporter. One module rather than three because every module a fence loads costs its own
// compile-cache hit (wazero validates about 10 ms per MB, and a Go guest is
// at least 1.8 MB of runtime) and its own instance: a chain that reaches
// pcs-config pays one load instead of three (docs/PERFORMANCE.md). The host
// still calls each strategy under its own name, timeout and command grants.
//
// Built by `make plugins` as bin/plugins/builtin.wasm; main never runs.
package main

import (
	k8sevent "github.com/NearNodeFlash/fence-gfs2-recorder/plugins/k8s-event"
	kubectlnnf "github.com/NearNodeFlash/fence-gfs2-recorder/plugins/kubectl-nnf"
	pcsconfig "github.com/NearNodeFlash/fence-gfs2-recorder/plugins/pcs-config"
	pcsstatus "github.com/NearNodeFlash/fence-gfs2-recorder/plugins/pcs-status"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// In discovery.order's default order, which is also what fgr_info lists,
// each with the commands it declares it needs.
func init() {
	plugin.Register(kubectlnnf.Name, kubectlnnf.Discover, kubectlnnf.Needs...)
	plugin.Register(pcsstatus.Name, pcsstatus.Discover, pcsstatus.Needs...)
	plugin.Register(pcsconfig.Name, pcsconfig.Discover, pcsconfig.Needs...)
	plugin.RegisterReporter(k8sevent.Name, k8sevent.Report)
}

func main() {}
