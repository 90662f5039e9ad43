// Command pcs-status is the pcs-status strategy alone in a module, as the agent
// shipped each built-in strategy before plugins/builtin served all three.
// make bench builds it to price that choice ("one module per strategy").
package main

import (
	pcsstatus "github.com/NearNodeFlash/fence-gfs2-recorder/plugins/pcs-status"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

func init() { plugin.Register(pcsstatus.Name, pcsstatus.Discover) }

func main() {}
