package pcmk

import (
	"errors"
	"strings"
)

// Resource is one element of the CIB's <resources> section: a primitive or a
// container (group, clone, master, bundle) with a link to its parent, so a
// primitive's effective settings and constraints can be found by walking up.
type Resource struct {
	ID     string
	Kind   string // "primitive", "group", "clone", "master", "bundle"
	Parent *Resource
	Meta   map[string]string // meta_attributes (first value of a name wins)

	// Primitives only.
	Class, Provider, Type string
	Params                map[string]string // instance_attributes

	children []*Resource // containers only, in document order (group start order)
}

// Agent is the resource agent in crm_mon's notation, e.g. "ocf:heartbeat:Filesystem".
func (r *Resource) Agent() string {
	if r.Provider == "" {
		return r.Class + ":" + r.Type
	}
	return r.Class + ":" + r.Provider + ":" + r.Type
}

// IsFilesystem reports whether r is an ocf:heartbeat:Filesystem primitive,
// the only agent that mounts a GFS2 filesystem in a Pacemaker stack.
func (r *Resource) IsFilesystem() bool {
	return r.Kind == "primitive" && IsFilesystemAgent(r.Agent())
}

// IsFilesystemAgent reports whether a crm_mon resource_agent string names the
// Filesystem agent.
func IsFilesystemAgent(agent string) bool { return agent == "ocf:heartbeat:Filesystem" }

// IsDLM reports whether a resource looks like the DLM control daemon: the
// controld agent, or (as many sites wrap dlm_controld differently) an id
// that is or starts with "dlm".
func IsDLM(id, agent string) bool {
	return agent == "ocf:pacemaker:controld" || strings.HasPrefix(lower(id), "dlm")
}

// FSType is the Filesystem primitive's fstype parameter.
func (r *Resource) FSType() string { return r.Params["fstype"] }

// Lineage returns r and its ancestors, innermost first.
func (r *Resource) Lineage() []*Resource {
	var out []*Resource
	for p := r; p != nil; p = p.Parent {
		out = append(out, p)
	}
	return out
}

// Enclosing returns the nearest ancestor of one of the given kinds, or nil.
func (r *Resource) Enclosing(kinds ...string) *Resource {
	for p := r.Parent; p != nil; p = p.Parent {
		for _, k := range kinds {
			if p.Kind == k {
				return p
			}
		}
	}
	return nil
}

// Clone returns the enclosing clone (or promotable "master") id, or "".
func (r *Resource) Clone() string {
	if c := r.Enclosing("clone", "master"); c != nil {
		return c.ID
	}
	return ""
}

// Group returns the enclosing group id, or "".
func (r *Resource) Group() string {
	if g := r.Enclosing("group"); g != nil {
		return g.ID
	}
	return ""
}

// StoppedBy returns the id of the resource (r or an ancestor) whose
// target-role is Stopped, or "" when nothing disables r. A group member
// after a stopped member cannot start either (groups start in order), so a
// stopped earlier sibling also counts.
func (r *Resource) StoppedBy() string {
	for p := r; p != nil; p = p.Parent {
		if equalFold(p.Meta["target-role"], "Stopped") {
			return p.ID
		}
		if p.Parent != nil && p.Parent.Kind == "group" {
			for _, sib := range p.Parent.children {
				if sib == p {
					break
				}
				if equalFold(sib.Meta["target-role"], "Stopped") {
					return sib.ID
				}
			}
		}
	}
	return ""
}

// Node is a cluster node as configured in <nodes>.
type Node struct {
	ID, Uname, Type string
	Attrs           map[string]string // permanent node attributes (e.g. standby)
}

// Location is an rsc_location constraint.
type Location struct {
	ID         string
	Resources  []string // rsc, or the resource_refs of its resource sets
	RscPattern string   // rsc-pattern (a regular expression; not evaluated)
	Role       string   // constraint applies to one role only when set
	Node       string
	Score      string
	Rules      []*Element
}

// Colocation is a two-resource rsc_colocation constraint.
type Colocation struct {
	ID, Rsc, WithRsc, Score string
}

// CIB is the part of the Cluster Information Base the strategies use.
type CIB struct {
	Resources   map[string]*Resource // every resource and container by id
	Primitives  []*Resource          // in document order
	Nodes       []Node
	Locations   []Location
	Colocations []Colocation
	Props       map[string]string // crm_config cluster options
	// HasConfiguration is false when the document held only a <resources>
	// section (cibadmin --scope=resources): nodes and constraints are unknown.
	HasConfiguration bool
}

// ParseCIB reads `cibadmin --query` output with any scope that contains the
// resources: the whole <cib>, <configuration>, or <resources>.
func ParseCIB(data []byte) (*CIB, error) {
	root, err := ParseTree(data)
	if err != nil {
		return nil, errors.New("CIB is not valid XML: " + err.Error())
	}
	c := &CIB{Resources: map[string]*Resource{}, Props: map[string]string{}}
	var cfg, resources *Element
	switch root.Name {
	case "cib":
		cfg = root.Child("configuration")
		resources = cfg.Child("resources")
	case "configuration":
		cfg = root
		resources = cfg.Child("resources")
	case "resources":
		resources = root
	default:
		return nil, errors.New("CIB document has root <" + root.Name + ">, want <cib>, <configuration> or <resources>")
	}
	if resources == nil {
		return nil, errors.New("CIB document has no <resources> section")
	}
	templates := map[string]*Element{}
	for _, el := range resources.Children {
		if el.Name == "template" {
			templates[el.Attr("id")] = el
		}
	}
	for _, el := range resources.Children {
		if err := c.addResource(el, nil, templates); err != nil {
			return nil, err
		}
	}
	if cfg != nil {
		c.HasConfiguration = true
		c.readProps(cfg.Child("crm_config"))
		c.readNodes(cfg.Child("nodes"))
		c.readConstraints(cfg.Child("constraints"))
	}
	return c, nil
}

func (c *CIB) addResource(el *Element, parent *Resource, templates map[string]*Element) error {
	kind := el.Name
	switch kind {
	case "primitive", "group", "clone", "master", "bundle":
	default:
		return nil // template, meta/instance attribute sets, operations, bundle runtimes
	}
	id := el.Attr("id")
	if id == "" {
		return errors.New("CIB <" + kind + "> without an id")
	}
	if _, dup := c.Resources[id]; dup {
		return errors.New("CIB resource id " + id + " appears twice")
	}
	r := &Resource{ID: id, Kind: kind, Parent: parent, Meta: nvpairs(el, "meta_attributes")}
	c.Resources[id] = r
	if parent != nil {
		parent.children = append(parent.children, r)
	}
	if kind == "primitive" {
		r.Class, r.Provider, r.Type = el.Attr("class"), el.Attr("provider"), el.Attr("type")
		r.Params = nvpairs(el, "instance_attributes")
		if t := templates[el.Attr("template")]; t != nil {
			inheritTemplate(r, t)
		}
		c.Primitives = append(c.Primitives, r)
		return nil
	}
	for _, ch := range el.Children {
		if err := c.addResource(ch, r, templates); err != nil {
			return err
		}
	}
	return nil
}

// inheritTemplate fills what a primitive leaves to its template: the agent
// and any parameter or meta attribute the primitive does not set itself.
func inheritTemplate(r *Resource, t *Element) {
	if r.Class == "" {
		r.Class, r.Provider, r.Type = t.Attr("class"), t.Attr("provider"), t.Attr("type")
	}
	for k, v := range nvpairs(t, "instance_attributes") {
		if _, ok := r.Params[k]; !ok {
			r.Params[k] = v
		}
	}
	for k, v := range nvpairs(t, "meta_attributes") {
		if _, ok := r.Meta[k]; !ok {
			r.Meta[k] = v
		}
	}
}

// nvpairs merges the nvpairs of el's attribute sets of the given kind. The
// first value of a name wins, as in Pacemaker when sets carry no scores;
// rules on sets are not evaluated (a strategy only needs fstype, device,
// directory and target-role, which sites do not make rule-dependent).
func nvpairs(el *Element, set string) map[string]string {
	out := map[string]string{}
	for _, s := range el.Children {
		if s.Name != set {
			continue
		}
		for _, nv := range s.Children {
			if nv.Name != "nvpair" {
				continue
			}
			name := nv.Attr("name")
			if _, seen := out[name]; !seen && name != "" {
				out[name] = nv.Attr("value")
			}
		}
	}
	return out
}

func (c *CIB) readProps(crmConfig *Element) {
	if crmConfig == nil {
		return
	}
	for k, v := range nvpairs(crmConfig, "cluster_property_set") {
		c.Props[k] = v
	}
}

func (c *CIB) readNodes(nodes *Element) {
	if nodes == nil {
		return
	}
	for _, n := range nodes.Children {
		if n.Name != "node" {
			continue
		}
		c.Nodes = append(c.Nodes, Node{ID: n.Attr("id"), Uname: n.Attr("uname"), Type: n.Attr("type"),
			Attrs: nvpairs(n, "instance_attributes")})
	}
}

func (c *CIB) readConstraints(cons *Element) {
	if cons == nil {
		return
	}
	for _, el := range cons.Children {
		switch el.Name {
		case "rsc_location":
			loc := Location{ID: el.Attr("id"), RscPattern: el.Attr("rsc-pattern"), Role: el.Attr("role"),
				Node: el.Attr("node"), Score: el.Attr("score")}
			if rsc := el.Attr("rsc"); rsc != "" {
				loc.Resources = append(loc.Resources, rsc)
			}
			for _, ch := range el.Children {
				switch ch.Name {
				case "rule":
					loc.Rules = append(loc.Rules, ch)
				case "resource_set":
					for _, ref := range ch.Children {
						if ref.Name == "resource_ref" {
							loc.Resources = append(loc.Resources, ref.Attr("id"))
						}
					}
				}
			}
			c.Locations = append(c.Locations, loc)
		case "rsc_colocation":
			if el.Attr("rsc") != "" && el.Attr("with-rsc") != "" {
				c.Colocations = append(c.Colocations, Colocation{ID: el.Attr("id"), Rsc: el.Attr("rsc"),
					WithRsc: el.Attr("with-rsc"), Score: el.Attr("score")})
			}
		}
	}
}

// Node returns the configured node with that exact uname.
func (c *CIB) Node(uname string) (Node, bool) {
	for _, n := range c.Nodes {
		if n.Uname == uname {
			return n, true
		}
	}
	return Node{}, false
}

// RemoteNode reports whether name is a Pacemaker Remote or guest node defined
// by a resource (ocf:pacemaker:remote primitive id, or remote-node meta).
func (c *CIB) RemoteNode(name string) bool {
	for _, p := range c.Primitives {
		if (p.ID == name && p.Agent() == "ocf:pacemaker:remote") || p.Meta["remote-node"] == name {
			return true
		}
	}
	return false
}

// Standby reports whether a configured node carries the permanent standby
// attribute.
func (n Node) Standby() bool { return isTrue(n.Attrs["standby"]) }
