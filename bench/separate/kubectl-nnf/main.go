// Command kubectl-nnf is the kubectl-nnf strategy alone in a module, as the agent
// shipped each built-in strategy before plugins/builtin served all three.
// make bench builds it to price that choice ("one module per strategy").
package main

import (
	kubectlnnf "github.com/NearNodeFlash/fence-gfs2-recorder/plugins/kubectl-nnf"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

func init() { plugin.Register(kubectlnnf.Name, kubectlnnf.Discover) }

func main() {}
