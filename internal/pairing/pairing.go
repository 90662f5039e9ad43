// Package pairing is the safety check that refuses a recorder that could
// fence alone.
//
// fence_gfs2_recorder fences nothing and always succeeds. If it is the only
// device Pacemaker needs to satisfy a fence (every device of a fencing level
// is a recorder, or the recorder is in no level so fenced may pick it on its
// own), Pacemaker believes a node was fenced while it still runs and may
// still write to GFS2: data corruption. monitor and validate-all run this
// check so such a configuration shows as FAILED before a fence happens.
//
// The check reads the CIB's configuration section (cibadmin --query --scope
// configuration) and looks only at level composition; targets only appear in
// the messages. A disabled recorder (meta target-role=Stopped) is ignored:
// Pacemaker cannot use it.
package pairing

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/options"
)

// AgentType is the stonith agent type that marks a recorder device.
const AgentType = "fence_gfs2_recorder"

// Kind says how a recorder could fence alone.
type Kind int

const (
	// AloneInLevel: every device of a fencing level is a recorder.
	AloneInLevel Kind = iota + 1
	// InNoLevel: the recorder is enabled but in no fencing level.
	InNoLevel
)

// Level is one <fencing-level> of the topology.
type Level struct {
	ID      string
	Index   string
	Devices []string
	// Exactly one way of targeting is set, as in the CIB schema.
	Target          string
	TargetPattern   string
	TargetAttribute string
	TargetValue     string
}

// TargetText names the level's target for a person: "target compute-node-3",
// "targets matching ^compute-node-[0-9]+$", "targets with node attribute rack=r1".
func (l Level) TargetText() string {
	switch {
	case l.Target != "":
		return "target " + l.Target
	case l.TargetPattern != "":
		return "targets matching " + l.TargetPattern
	case l.TargetAttribute != "":
		return "targets with node attribute " + l.TargetAttribute + "=" + l.TargetValue
	}
	return "no target"
}

// pcsTarget is the level's target as pcs stonith level commands spell it.
func (l Level) pcsTarget() string {
	switch {
	case l.TargetPattern != "":
		return "'regexp%" + l.TargetPattern + "'"
	case l.TargetAttribute != "":
		return "'attrib%" + l.TargetAttribute + "=" + l.TargetValue + "'"
	}
	return l.Target
}

// Problem is one way a recorder could satisfy a fence on its own.
type Problem struct {
	Kind Kind
	// Devices are the enabled recorders concerned: one for InNoLevel, the
	// level's enabled recorders for AloneInLevel.
	Devices []string
	Level   Level    // AloneInLevel only
	Hosts   []string // InNoLevel: the recorder's pcmk_host_list, when set
}

// DisableHint tells the operator how to turn the check off; every message
// ends with it so a site that knows better is never stuck.
const DisableHint = "(set safety.pairing_check: false in the configuration to turn this check off)"

func (p Problem) Error() string {
	devs := quoteAll(p.Devices)
	switch p.Kind {
	case AloneInLevel:
		alone := "recorder device " + devs + " is alone in"
		if len(p.Level.Devices) > 1 {
			alone = "fence_gfs2_recorder devices " + quoteAll(p.Level.Devices) + " are the only devices of"
		}
		return fmt.Sprintf("%s fencing level %s for %s: that level completes a fence without any real fence device, "+
			"so Pacemaker would consider the node fenced while it still runs (GFS2 corruption). "+
			"Fix: put the node's real fence device in the same level, e.g. "+
			"pcs stonith level delete %s target %s; pcs stonith level add %s %s %s REAL_DEVICE %s",
			alone, p.Level.Index, p.Level.TargetText(),
			p.Level.Index, p.Level.pcsTarget(), p.Level.Index, p.Level.pcsTarget(),
			strings.Join(p.Level.Devices, " "), DisableHint)
	case InNoLevel:
		node, lists := "NODE", ""
		if len(p.Hosts) > 0 {
			node = p.Hosts[0]
			lists = " (it lists " + strings.Join(p.Hosts, ", ") + ")"
		}
		return fmt.Sprintf("recorder device %s is in no fencing level%s: without a level Pacemaker may fence a node "+
			"with the recorder alone and consider it fenced while it still runs (GFS2 corruption). "+
			"Fix: add it beside the real fence device of each node it records, e.g. "+
			"pcs stonith level add 1 %s %s REAL_DEVICE %s",
			devs, lists, node, p.Devices[0], DisableHint)
	}
	return "unknown pairing problem"
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// node is a generic XML element: the CIB nests resources in groups, clones
// and bundles, so a tree walk is simpler than a fixed struct.
type node struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []node     `xml:",any"`
}

func (n *node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// device is a stonith resource as the check sees it.
type device struct {
	id       string
	recorder bool
	disabled bool
	hosts    []string
	// storageAttr is the device's nnf_storage_fence value, "" when unset.
	storageAttr string
}

// storageFence: the device fences through nnf-sos, by its own parameter
// or by the node's default.
func (d *device) storageFence(def bool) bool {
	switch strings.ToLower(strings.TrimSpace(d.storageAttr)) {
	case "":
		return def
	case "1", "yes", "y", "on", "true":
		return true
	}
	return false
}

// Find returns the problems in a CIB configuration: cibadmin's output of
// --query --scope configuration (root <configuration>), or a whole CIB
// (root <cib>). It returns an error only when the XML cannot be read.
func Find(cib []byte) ([]Problem, error) { return FindWith(cib, Options{}) }

// Options say how to read devices of this agent's type.
type Options struct {
	// StorageFenceDefault: this node runs the agent in storage-fence mode
	// unless a device says nnf_storage_fence=0. A storage-fence device is a
	// real fence (nnf-sos cuts the node's storage and the agent fails when
	// it cannot), so it may stand alone in a level.
	StorageFenceDefault bool
}

// FindWith is Find with options.
func FindWith(cib []byte, o Options) ([]Problem, error) {
	var root node
	dec := xml.NewDecoder(bytes.NewReader(cib))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("parse CIB: empty document")
		}
		return nil, fmt.Errorf("parse CIB: %w", err)
	}
	conf := &root
	switch root.XMLName.Local {
	case "configuration":
	case "cib":
		conf = child(&root, "configuration")
		if conf == nil {
			return nil, errors.New("parse CIB: <cib> has no <configuration>")
		}
	default:
		return nil, fmt.Errorf("parse CIB: root element is <%s>, want <configuration> or <cib>", root.XMLName.Local)
	}

	var devices []device
	byID := map[string]*device{}
	if res := child(conf, "resources"); res != nil {
		templates := map[string]*node{}
		for i := range res.Children {
			if t := &res.Children[i]; t.XMLName.Local == "template" {
				templates[t.attr("id")] = t
			}
		}
		walkResources(res, false, templates, &devices)
		for i := range devices {
			if devices[i].recorder && devices[i].storageFence(o.StorageFenceDefault) {
				devices[i].recorder = false
			}
		}
	}
	for i := range devices {
		byID[devices[i].id] = &devices[i]
	}

	var levels []Level
	if topo := child(conf, "fencing-topology"); topo != nil {
		for i := range topo.Children {
			l := &topo.Children[i]
			if l.XMLName.Local != "fencing-level" {
				continue
			}
			levels = append(levels, Level{ID: l.attr("id"), Index: l.attr("index"), Devices: splitDevices(l.attr("devices")),
				Target: l.attr("target"), TargetPattern: l.attr("target-pattern"),
				TargetAttribute: l.attr("target-attribute"), TargetValue: l.attr("target-value")})
		}
	}

	var problems []Problem
	inLevel := map[string]bool{}
	for _, l := range levels {
		var enabled []string
		allRecorders := len(l.Devices) > 0
		for _, id := range l.Devices {
			inLevel[id] = true
			d := byID[id]
			if d == nil || !d.recorder {
				// Anything else, even an id this CIB does not define, is
				// not a recorder: fenced fails such a level rather than
				// completing it with a recorder.
				allRecorders = false
				continue
			}
			if !d.disabled {
				enabled = append(enabled, id)
			}
		}
		if allRecorders && len(enabled) > 0 {
			problems = append(problems, Problem{Kind: AloneInLevel, Devices: enabled, Level: l})
		}
	}
	for _, d := range devices {
		if d.recorder && !d.disabled && !inLevel[d.id] {
			problems = append(problems, Problem{Kind: InNoLevel, Devices: []string{d.id}, Hosts: d.hosts})
		}
	}
	return problems, nil
}

// walkResources collects every primitive under n (groups, clones and bundles
// included). A primitive is disabled when it, a template it uses, or a
// resource that contains it is meta target-role=Stopped.
func walkResources(n *node, parentStopped bool, templates map[string]*node, out *[]device) {
	for i := range n.Children {
		c := &n.Children[i]
		switch c.XMLName.Local {
		case "primitive":
			class, typ := c.attr("class"), c.attr("type")
			stopped := parentStopped || stoppedByMeta(c)
			if t := templates[c.attr("template")]; t != nil {
				// The primitive's own attributes override the template's.
				if class == "" {
					class = t.attr("class")
				}
				if typ == "" {
					typ = t.attr("type")
				}
				stopped = stopped || stoppedByMeta(t)
			}
			if class != "stonith" {
				continue
			}
			*out = append(*out, device{id: c.attr("id"), recorder: typ == AgentType, disabled: stopped,
				hosts:       strings.Fields(strings.ReplaceAll(instanceAttr(c, "pcmk_host_list"), ",", " ")),
				storageAttr: instanceAttr(c, options.NNFStorageFence)})
		case "group", "clone", "master", "bundle":
			walkResources(c, parentStopped || stoppedByMeta(c), templates, out)
		}
	}
}

// stoppedByMeta: target-role=Stopped in an unconditional meta_attributes set.
// A set with a rule may not apply now, so it does not count: the check errs
// on the side of checking a device.
func stoppedByMeta(n *node) bool {
	for i := range n.Children {
		m := &n.Children[i]
		if m.XMLName.Local != "meta_attributes" || child(m, "rule") != nil {
			continue
		}
		for j := range m.Children {
			nv := &m.Children[j]
			if nv.XMLName.Local == "nvpair" && nv.attr("name") == "target-role" && strings.EqualFold(nv.attr("value"), "Stopped") {
				return true
			}
		}
	}
	return false
}

func instanceAttr(n *node, name string) string {
	for i := range n.Children {
		ia := &n.Children[i]
		if ia.XMLName.Local != "instance_attributes" {
			continue
		}
		for j := range ia.Children {
			nv := &ia.Children[j]
			if nv.XMLName.Local == "nvpair" && nv.attr("name") == name {
				return nv.attr("value")
			}
		}
	}
	return ""
}

func child(n *node, name string) *node {
	for i := range n.Children {
		if n.Children[i].XMLName.Local == name {
			return &n.Children[i]
		}
	}
	return nil
}

// splitDevices splits a level's devices attribute ("a,b"); Pacemaker's
// schema allows only commas, spaces are tolerated.
func splitDevices(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, f)
	}
	return out
}
