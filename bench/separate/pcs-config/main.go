// Command pcs-config is the pcs-config strategy alone in a module, as the agent
// shipped each built-in strategy before plugins/builtin served all three.
// make bench builds it to price that choice ("one module per strategy").
package main

import (
	pcsconfig "github.com/NearNodeFlash/fence-gfs2-recorder/plugins/pcs-config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

func init() { plugin.Register(pcsconfig.Name, pcsconfig.Discover) }

func main() {}
