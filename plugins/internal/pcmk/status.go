package pcmk

import (
	"errors"
	"strings"
)

// Status is what crm_mon (or `pcs status xml`, which runs it) says about
// where resource instances are active: Pacemaker's own reading of the
// operation history, including failed and unclean-node cases.
type Status struct {
	Nodes     []StatusNode
	Instances []Instance
}

// StatusNode is one node as crm_mon sees it.
type StatusNode struct {
	Name                               string
	Online, Unclean, Standby, Shutdown bool
}

// Instance is one primitive instance (a clone has one per copy).
type Instance struct {
	ID     string // primitive id; a unique clone's ":N" suffix removed
	Agent  string // e.g. "ocf:heartbeat:Filesystem"
	Role   string // Started, Stopped, Promoted, Unpromoted, Starting, ...
	Active bool
	Failed bool
	// Orphaned instances run but are no longer configured.
	Orphaned bool
	Nodes    []string // nodes it is active on (more than one only when misbehaving)
	Group    string   // enclosing group id, instance suffix removed
	Clone    string   // enclosing clone id
}

// OnNode reports whether the instance is active on exactly that node name.
func (in Instance) OnNode(node string) bool {
	if !in.Active {
		return false
	}
	for _, n := range in.Nodes {
		if n == node {
			return true
		}
	}
	return false
}

// ParseCrmMon reads `crm_mon --output-as=xml` (Pacemaker 2.x) or the older
// `crm_mon --as-xml` document. An error document (<status code != 0>) or one
// without nodes and resources is an error: an empty answer must mean
// "nothing runs there", never "crm_mon could not tell".
func ParseCrmMon(data []byte) (*Status, error) {
	root, err := ParseTree(data)
	if err != nil {
		return nil, errors.New("crm_mon output is not valid XML: " + err.Error())
	}
	if root.Name != "pacemaker-result" && root.Name != "crm_mon" {
		return nil, errors.New("crm_mon output has root <" + root.Name + ">, want <pacemaker-result> or <crm_mon>")
	}
	// crm_mon 2.1 reports some failures (e.g. an unreadable CIB) with
	// code="0" message="OK" and an <errors> list, so both are checked.
	if st := root.Child("status"); st != nil {
		var msgs []string
		if errs := st.Child("errors"); errs != nil {
			for _, e := range errs.Children {
				if t := trim(e.Text); t != "" {
					msgs = append(msgs, t)
				}
			}
		}
		if code := st.Attr("code"); (code != "" && code != "0") || len(msgs) > 0 {
			head := "crm_mon reported status " + code + " (" + st.Attr("message") + ")"
			if len(msgs) > 0 {
				head += ": " + strings.Join(msgs, "; ")
			}
			return nil, errors.New(head)
		}
	}
	// A cluster without resources has no <resources> section at all, so
	// its absence alone proves nothing; the node list must be there.
	resources, nodes := root.Child("resources"), root.Child("nodes")
	if resources == nil && nodes == nil {
		return nil, errors.New("crm_mon output has neither <nodes> nor <resources>")
	}
	s := &Status{}
	if nodes != nil {
		for _, n := range nodes.Children {
			if n.Name != "node" {
				continue
			}
			s.Nodes = append(s.Nodes, StatusNode{Name: n.Attr("name"), Online: n.Attr("online") == "true",
				Unclean: n.Attr("unclean") == "true", Standby: n.Attr("standby") == "true",
				Shutdown: n.Attr("shutdown") == "true"})
		}
	}
	if resources != nil {
		s.walk(resources, "", "")
	}
	return s, nil
}

func (s *Status) walk(el *Element, group, clone string) {
	for _, ch := range el.Children {
		switch ch.Name {
		case "resource":
			in := Instance{ID: baseID(ch.Attr("id")), Agent: ch.Attr("resource_agent"), Role: ch.Attr("role"),
				Active: ch.Attr("active") == "true", Failed: ch.Attr("failed") == "true",
				Orphaned: ch.Attr("orphaned") == "true", Group: group, Clone: clone}
			for _, n := range ch.Children {
				if n.Name == "node" && n.Attr("name") != "" {
					in.Nodes = append(in.Nodes, n.Attr("name"))
				}
			}
			s.Instances = append(s.Instances, in)
		case "group":
			s.walk(ch, baseID(ch.Attr("id")), clone)
		case "clone":
			s.walk(ch, group, baseID(ch.Attr("id")))
		case "bundle", "replica":
			s.walk(ch, group, clone)
		}
	}
}

// Node returns the status of the node with exactly that name.
func (s *Status) Node(name string) (StatusNode, bool) {
	for _, n := range s.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return StatusNode{}, false
}

// ActiveOn returns the instances active on node, in document order.
func (s *Status) ActiveOn(node string) []Instance {
	var out []Instance
	for _, in := range s.Instances {
		if in.OnNode(node) {
			out = append(out, in)
		}
	}
	return out
}

// baseID removes a clone instance suffix: "sharedfs:1" -> "sharedfs".
// Pacemaker ids are XML NCNames, which cannot contain ':' themselves.
func baseID(id string) string {
	if i := strings.IndexByte(id, ':'); i >= 0 {
		return id[:i]
	}
	return id
}
