package manpage

// AgentSections are the parts of fence_gfs2_recorder(8) that the metadata
// cannot carry: where things live, the administrator subcommands, and how
// the agent ends. Options are never described here: they come from metadata.
var AgentSections = []Section{
	{Title: "Topology", Body: `
fence_gfs2_recorder does no fencing. It belongs in the same fencing-topology level as the real fence device of each compute node, on the storage (rabbit) node, so that every fence of that node is recorded together with the GFS2 filesystems the node was using. It succeeds for on, off and reboot even when every discovery strategy fails; the record then names "none-detected".

  pcs stonith create gfs2-recorder fence_gfs2_recorder \
      pcmk_host_list="compute-node-3 compute-node-4" op monitor interval=60s
  pcs stonith level add 1 compute-node-3 gfs2-recorder ipmi-compute-node-3
  pcs stonith level add 1 compute-node-4 gfs2-recorder ipmi-compute-node-4

List it first in the level so the record is written even when the real device then fails. A reboot through a topology level arrives as off then on, and both are recorded.
With the safety pairing check on (the default), monitor and validate-all fail when the recorder could satisfy a fence on its own (alone in a level, or in no level).
`},
	{Title: "Storage fencing", Body: `
In storage-fence mode (run as fence_recorder, nnf_storage_fence=1, or storage_fence.enabled: true) the agent is a real fence device for NNF: off and reboot publish a fence request in request_dir (by rename from a dot temp file), nnf-sos's node manager on this rabbit deletes the target's GFS2 storage groups and answers in response_dir, and the agent exits 0 only on a JSON "success": true; it exits 1 on a refusal, on no answer within fence_timeout, or on SIGTERM, and then withdraws its own request. Discovery runs while nnf-sos works. The target is port (the NNF compute name). on does nothing, status reports OFF (exit 2) while a success marker exists, list prints the plug; none of them write a request. Such a device may stand alone in a level.

  fence_gfs2_recorder markers [--json] [NODE]
  fence_gfs2_recorder unfence NODE [--yes]

markers lists nnf-sos's success answers (the markers that keep a compute's storage away); unfence removes a compute's answers after a confirmation, refusing while a request for it is in flight. Configuration and migration: /usr/share/doc/fence-gfs2-recorder/NNF.md.
`},
	{Title: "Discovery strategies", Body: `
Discovery strategies are sandboxed WebAssembly modules, tried in the order of discovery.order; the first that names at least one filesystem wins. The built-in ones are kubectl-nnf (Kubernetes NNF resources), pcs-status (live Pacemaker state) and pcs-config (configured Pacemaker resources). A site adds its own by dropping a .wasm into the plugin directory and naming it in discovery.order. A strategy can only run the commands it is granted (strategies.<name>.allow, defined under commands.<name>); it has no files, environment or network.

  fence_gfs2_recorder plugins list
  fence_gfs2_recorder plugins verify FILE
  fence_gfs2_recorder plugins run NAME|FILE --node NODE [--action ACTION] [--json]
  fence_gfs2_recorder plugins warm
  fence_gfs2_recorder config

list shows the chain in order with each module's source and whether it loads; verify checks a module file exactly as a fence would load it, without running it; run runs one strategy against a node under the same sandbox and prints its answer and every command it ran, recording nothing; warm compiles the configured strategies into the compile cache so the first fence does not pay for compilation (the packages run it after install); config prints the effective configuration and the layer each value comes from. Writing a strategy: /usr/share/doc/fence-gfs2-recorder/PLUGINS.md.
`},
	{Title: "Files", Body: `
  /usr/sbin/fence_gfs2_recorder
  /usr/sbin/fence_recorder (symlink: storage-fence mode)
  /localdisk/fence-recorder/requests/, /localdisk/fence-recorder/responses/
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
0 on success. on, off and reboot always exit 0 once the event is recorded, whatever discovery found (the record then says none-detected). status always reports ON and exits 0: a recorder cannot know a power state and must never claim a node is off. In storage-fence mode off and reboot exit 0 only when nnf-sos answered success, and status exits 2 while the target has a fence marker. 1 for bad usage, an unknown action, or a failed monitor or validate-all.
`},
	{Title: "See also", Body: `
stonith_admin(8), pcs(8), pacemaker-fenced(7), logrotate(8)
`},
}
