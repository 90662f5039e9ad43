package pcsstatus

import (
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/pcmk"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// statusCommands give Pacemaker's live view of where resources are active.
// crm_mon is asked for nodes and resources only: the default XML also holds
// the fence history, which would make crm_mon query the fencer that is
// running this very agent. `pcs status xml` runs crm_mon too, and is the
// way in for crm_mon versions without --output-as.
var statusCommands = []pcmk.Command{
	{Name: "crm_mon", Args: []string{"--one-shot", "--inactive", "--output-as=xml", "--include=none,nodes,resources"}},
	{Name: "pcs", Args: []string{"status", "xml"}},
}

// configCommands give the resource configuration, where fstype lives
// (crm_mon's status does not carry instance attributes). cibadmin is a C
// tool (tens of ms); `pcs cluster cib` prints the same XML through Python
// (0.4 s and more: see the Sources benchmark in plugins/internal/hosttest).
var configCommands = []pcmk.Command{
	{Name: "cibadmin", Args: []string{"--query", "--scope=resources"}},
	{Name: "pcs", Args: []string{"cluster", "cib"}},
}

// textCommand is the last resort when no XML status parses: the same
// crm_mon view as text. It needs the CIB to expand collapsed clone lines.
var textCommand = pcmk.Command{Name: "pcs", Args: []string{"status", "resources"}}

func Discover(ctx plugin.Context, req plugin.Request) (plugin.Result, error) {
	fstypes := req.ConfigStrings("fstypes", []string{"gfs2"})
	details := map[string]any{"node": req.Node}

	st, cib, err := readStatus(ctx, details)
	if err != nil {
		return plugin.Result{}, err
	}
	if n, ok := st.Node(req.Node); ok {
		details["node_online"] = n.Online
		details["node_unclean"] = n.Unclean
	} else if len(st.Nodes) > 0 {
		details["node_in_cluster"] = false
	}

	var dlm []string
	var mounted []pcmk.Instance
	for _, in := range st.ActiveOn(req.Node) {
		if pcmk.IsDLM(in.ID, in.Agent) {
			dlm = pcmk.AppendOnce(dlm, in.ID)
		}
		if pcmk.IsFilesystemAgent(in.Agent) {
			mounted = append(mounted, in)
		}
	}
	details["dlm_active"] = len(dlm) > 0
	pcmk.SetNonEmpty(details, "dlm_resources", dlm)
	if len(mounted) == 0 {
		// Nothing mounted through Pacemaker there; the fstype is moot, so
		// the CIB is not read (one process when crm_mon answered).
		return plugin.Result{Details: details}, nil
	}
	if cib == nil {
		if cib, err = readConfig(ctx, details); err != nil {
			ids := make([]string, 0, len(mounted))
			for _, in := range mounted {
				ids = append(ids, in.ID)
			}
			return plugin.Result{}, pcmk.Wrap("Filesystem resources "+strings.Join(ids, ",")+
				" are active on "+req.Node+" but their fstype is unknown: cannot read the CIB: ", err)
		}
	}
	return plugin.Result{Filesystems: classify(mounted, cib, fstypes, details), Details: details}, nil
}

// readStatus returns the status from the first XML source that works, or
// from the text fallback (which also returns the CIB it had to read).
func readStatus(ctx plugin.Context, details map[string]any) (*pcmk.Status, *pcmk.CIB, error) {
	st, used, tried, err := pcmk.FirstParsed(ctx, statusCommands, pcmk.ParseCrmMon)
	pcmk.SetNonEmpty(details, "status_failures", tried)
	if err == nil {
		details["status_source"] = used.String()
		return st, nil, nil
	}
	text, _, _, terr := pcmk.FirstParsed(ctx, []pcmk.Command{textCommand}, func(b []byte) ([]byte, error) { return b, nil })
	if terr != nil {
		return nil, nil, pcmk.Wrap("cannot read Pacemaker status: "+err.Error()+"; ", terr)
	}
	cib, cerr := readConfig(ctx, details)
	if cerr != nil {
		return nil, nil, pcmk.Wrap("cannot read Pacemaker status: "+err.Error()+"; "+textCommand.String()+" needs the CIB: ", cerr)
	}
	if st, err = pcmk.ParseStatusText(text, cib); err != nil {
		return nil, nil, pcmk.Wrap("cannot read Pacemaker status: ", err)
	}
	details["status_source"] = textCommand.String()
	return st, cib, nil
}

func readConfig(ctx plugin.Context, details map[string]any) (*pcmk.CIB, error) {
	cib, used, tried, err := pcmk.FirstParsed(ctx, configCommands, pcmk.ParseCIB)
	pcmk.SetNonEmpty(details, "config_failures", tried)
	if err != nil {
		return nil, err
	}
	details["config_source"] = used.String()
	return cib, nil
}

// classify splits the Filesystem instances active on the node into the
// answer (configured fstype wanted) and evidence kept in details.
func classify(mounted []pcmk.Instance, cib *pcmk.CIB, fstypes []string, details map[string]any) []string {
	var fs, other, unknown []string
	var resources []map[string]any
	for _, in := range mounted {
		r := cib.Resources[in.ID]
		switch {
		case r == nil || !r.IsFilesystem():
			// Orphaned (still running, no longer configured) or changed
			// between the two reads: its fstype cannot be known.
			unknown = pcmk.AppendOnce(unknown, in.ID)
		case !pcmk.MatchesFSType(r.FSType(), fstypes):
			other = pcmk.AppendOnce(other, in.ID)
		case !pcmk.Contains(fs, in.ID):
			fs = append(fs, in.ID)
			resources = append(resources, map[string]any{
				"id": in.ID, "fstype": r.FSType(), "device": r.Params["device"], "directory": r.Params["directory"],
				"role": in.Role, "failed": in.Failed, "clone": r.Clone(), "group": r.Group(),
			})
		}
	}
	pcmk.SetNonEmpty(details, "resources", resources)
	pcmk.SetNonEmpty(details, "other_filesystems", other)
	pcmk.SetNonEmpty(details, "unconfigured_filesystems", unknown)
	return fs
}

// Needs is what the strategy declares it runs on every fence (fgr_info): a
// status source, and a configuration source whenever a Filesystem is active
// on the target; either of each list will do.
var Needs = []plugin.Option{plugin.Needs(pcmk.Names(statusCommands)...), plugin.Needs(pcmk.Names(configCommands)...)}
