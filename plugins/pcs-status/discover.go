package main

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
// (crm_mon's status does not carry instance attributes). It is read only
// when a Filesystem resource is active on the node. cibadmin is a C tool
// (~16 ms); `pcs cluster cib` returns the same XML through Python (~0.4 s).
var configCommands = []pcmk.Command{
	{Name: "cibadmin", Args: []string{"--query", "--scope=resources"}},
	{Name: "pcs", Args: []string{"cluster", "cib"}},
}

// textCommand is the last resort when no XML status parses: the same
// crm_mon view as text. It needs the CIB to expand collapsed clone lines.
var textCommand = pcmk.Command{Name: "pcs", Args: []string{"status", "resources"}}

func discover(ctx plugin.Context, req plugin.Request) (plugin.Result, error) {
	fstypes := req.ConfigStrings("fstypes", []string{"gfs2"})
	details := map[string]any{"node": req.Node}

	var cib *pcmk.CIB
	st, used, tried, err := pcmk.FirstParsed(ctx, statusCommands, pcmk.ParseCrmMon)
	if err != nil {
		if st, cib, err = fromText(ctx, details); err != nil {
			return plugin.Result{}, pcmk.Wrap("cannot read Pacemaker status: ", pcmk.Wrap(strings.Join(tried, "; ")+"; ", err))
		}
		used = textCommand
	}
	details["status_source"] = used.String()
	if len(tried) > 0 {
		details["status_failures"] = tried
	}
	if n, ok := st.Node(req.Node); ok {
		details["node_online"] = n.Online
		details["node_unclean"] = n.Unclean
	} else if len(st.Nodes) > 0 {
		details["node_in_cluster"] = false
	}

	active := st.ActiveOn(req.Node)
	var dlm []string
	var mounted []pcmk.Instance
	for _, in := range active {
		if pcmk.IsDLM(in.ID, in.Agent) {
			dlm = pcmk.AppendOnce(dlm, in.ID)
		}
		if pcmk.IsFilesystemAgent(in.Agent) {
			mounted = append(mounted, in)
		}
	}
	details["dlm_active"] = len(dlm) > 0
	if len(dlm) > 0 {
		details["dlm_resources"] = dlm
	}
	if len(mounted) == 0 {
		// Nothing mounted through Pacemaker there: one process was enough.
		return plugin.Result{Details: details}, nil
	}

	if cib == nil {
		var cused pcmk.Command
		var ctried []string
		cib, cused, ctried, err = pcmk.FirstParsed(ctx, configCommands, pcmk.ParseCIB)
		if err != nil {
			ids := make([]string, 0, len(mounted))
			for _, in := range mounted {
				ids = append(ids, in.ID)
			}
			return plugin.Result{}, pcmk.Wrap("Filesystem resources "+strings.Join(ids, ",")+
				" are active on "+req.Node+" but their fstype is unknown: cannot read the CIB: ", err)
		}
		details["config_source"] = cused.String()
		if len(ctried) > 0 {
			details["config_failures"] = ctried
		}
	}

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
	if len(resources) > 0 {
		details["resources"] = resources
	}
	if len(other) > 0 {
		details["other_filesystems"] = other
	}
	if len(unknown) > 0 {
		details["unconfigured_filesystems"] = unknown
	}
	return plugin.Result{Filesystems: fs, Details: details}, nil
}

// fromText reads the status as text plus the CIB it needs; both are
// required, so either failing is the error.
func fromText(ctx plugin.Context, details map[string]any) (*pcmk.Status, *pcmk.CIB, error) {
	text, _, _, err := pcmk.FirstParsed(ctx, []pcmk.Command{textCommand}, func(b []byte) ([]byte, error) { return b, nil })
	if err != nil {
		return nil, nil, err
	}
	cib, cused, ctried, err := pcmk.FirstParsed(ctx, configCommands, pcmk.ParseCIB)
	if err != nil {
		return nil, nil, pcmk.Wrap(textCommand.String()+" needs the CIB: ", err)
	}
	details["config_source"] = cused.String()
	if len(ctried) > 0 {
		details["config_failures"] = ctried
	}
	st, err := pcmk.ParseStatusText(text, cib)
	if err != nil {
		return nil, nil, err
	}
	return st, cib, nil
}
