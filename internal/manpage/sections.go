package manpage

// AgentSections are the parts of fence_gfs2_recorder(8) that the metadata
// cannot carry: where things live, the administrator subcommands, and how
// the agent ends. Options are never described here: they come from metadata.
var AgentSections = []Section{
	{Title: "Topology", Body: `
fence_gfs2_recorder does no fencing. It belongs in the same fencing-topology level as the real fence device of each compute node, on the storage (rabbit) node, so that every fence of that node is recorded together with the GFS2 filesystems the node was using. It succeeds for on, off and reboot even when every discovery strategy fails; the record then names "none-detected".

  pcs stonith create gfs2-recorder fence_gfs2_recorder pcmk_host_list="compute-node-1 compute-node-2"
  pcs stonith level add 1 compute-node-1 ipmi-compute-node-1,gfs2-recorder

With the safety pairing check on (the default), monitor and validate-all fail when the recorder could satisfy a fence on its own (alone in a level, or in no level).
`},
	{Title: "Discovery strategies", Body: `
Discovery strategies are sandboxed WebAssembly modules, tried in the order of discovery.order; the first that names at least one filesystem wins. The built-in ones are kubectl-nnf (Kubernetes NNF resources), pcs-status (live Pacemaker state) and pcs-config (configured Pacemaker resources). A site adds its own by dropping a .wasm into the plugin directory and naming it in discovery.order. A strategy can only run the commands it is granted (strategies.<name>.allow, defined under commands.<name>); it has no files, environment or network.

  fence_gfs2_recorder plugins verify FILE
  fence_gfs2_recorder plugins run NAME|FILE --node NODE
  fence_gfs2_recorder plugins warm

verify loads a module and checks its ABI; run runs one strategy against a node and prints a trace of every command it ran; warm compiles the configured strategies into the compile cache so the first fence does not pay for compilation. See PLUGINS.md in the documentation directory for writing a strategy.
`},
	{Title: "Files", Body: `
  /usr/sbin/fence_gfs2_recorder
  /usr/lib/fence_gfs2_recorder/plugins/*.wasm
  /etc/fence_gfs2_recorder/config.yaml
  /etc/fence_gfs2_recorder/plugins.d/
  /var/log/gfs2-fencing/fence-events-detailed.jsonl
  /var/log/gfs2-fencing/fence-events-readable.log
  /var/log/gfs2-fencing/fence-events.log
  /var/cache/fence_gfs2_recorder/
  /etc/logrotate.d/fence_gfs2_recorder

fence-events-detailed.jsonl holds one JSON record per event; fence-events-readable.log the same events for people; fence-events.log the agent's operational log. The cache holds compiled native code of the strategies: it must stay owned by root with mode 0700.
`},
	{Title: "Exit status", Body: `
0 on success, including on, off and reboot whatever discovery found. 1 when the action failed or the options are invalid. For status and monitor, fence-agent conventions apply: 0 on, 1 failure, 2 off.
`},
	{Title: "See also", Body: `
stonith_admin(8), pcs(8), pacemaker-fenced(7), logrotate(8)
`},
}
