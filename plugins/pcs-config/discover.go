package pcsconfig

import (
	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/pcmk"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// configCommands give the CIB configuration section: resources, nodes and
// constraints in one document, without the status section (the largest
// part of a busy cluster's CIB, and not needed for a static answer).
// cibadmin is a C tool (tens of ms); `pcs cluster cib` prints the whole CIB
// through Python (0.4 s and more, see the Sources benchmark in
// plugins/internal/hosttest) for sites that grant only pcs.
var configCommands = []pcmk.Command{
	{Name: "cibadmin", Args: []string{"--query", "--scope=configuration"}},
	{Name: "pcs", Args: []string{"cluster", "cib"}},
}

func Discover(ctx plugin.Context, req plugin.Request) (plugin.Result, error) {
	fstypes := req.ConfigStrings("fstypes", []string{"gfs2"})
	details := map[string]any{"node": req.Node}

	cib, used, tried, err := pcmk.FirstParsed(ctx, configCommands, parseConfiguration)
	if err != nil {
		return plugin.Result{}, pcmk.Wrap("cannot read the Pacemaker configuration: ", err)
	}
	details["config_source"] = used.String()
	pcmk.SetNonEmpty(details, "config_failures", tried)
	if n, ok := cib.Node(req.Node); ok {
		details["node_standby"] = n.Standby()
	} else if !cib.RemoteNode(req.Node) {
		details["node_in_cib"] = false
	}

	var fs, dlm, unevaluated []string
	var resources, disabled, excluded []map[string]any
	for _, r := range cib.Primitives {
		isFS := r.IsFilesystem() && pcmk.MatchesFSType(r.FSType(), fstypes)
		isDLM := pcmk.IsDLM(r.ID, r.Agent())
		if !isFS && !isDLM {
			continue
		}
		pl := cib.MayRun(r, req.Node)
		for _, id := range pl.Unevaluated {
			unevaluated = pcmk.AppendOnce(unevaluated, id)
		}
		if isDLM {
			if pl.MayRun {
				dlm = append(dlm, r.ID)
			}
			continue
		}
		entry := map[string]any{"id": r.ID, "fstype": r.FSType(), "device": r.Params["device"],
			"directory": r.Params["directory"], "clone": r.Clone(), "group": r.Group()}
		switch {
		case pl.MayRun:
			fs = append(fs, r.ID)
			resources = append(resources, entry)
		case pl.Disabled:
			// Configured but stopped by the administrator: it cannot have
			// been mounted through Pacemaker, so it is evidence, not an answer.
			entry["reason"] = pl.Reason
			disabled = append(disabled, entry)
		default:
			entry["reason"] = pl.Reason
			excluded = append(excluded, entry)
		}
	}
	details["dlm_may_run"] = len(dlm) > 0
	pcmk.SetNonEmpty(details, "dlm_resources", dlm)
	pcmk.SetNonEmpty(details, "resources", resources)
	pcmk.SetNonEmpty(details, "disabled", disabled)
	pcmk.SetNonEmpty(details, "excluded", excluded)
	pcmk.SetNonEmpty(details, "unevaluated_constraints", unevaluated)
	return plugin.Result{Filesystems: fs, Details: details}, nil
}

// parseConfiguration accepts only documents that carry nodes and
// constraints: a bare <resources> section cannot answer "may it run there".
func parseConfiguration(data []byte) (*pcmk.CIB, error) {
	cib, err := pcmk.ParseCIB(data)
	if err != nil {
		return nil, err
	}
	if !cib.HasConfiguration {
		return nil, errNoConfiguration
	}
	return cib, nil
}

type constError string

func (e constError) Error() string { return string(e) }

const errNoConfiguration = constError("CIB document has no <configuration> section (nodes, constraints)")

// Needs is what the strategy declares it runs on every fence (fgr_info):
// one of its configuration sources.
var Needs = []plugin.Option{plugin.Needs(pcmk.Names(configCommands)...)}
