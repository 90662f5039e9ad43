package pcmk

import (
	"errors"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/intfmt"
)

// ParseStatusText reads `pcs status resources` (the text crm_mon prints in
// Pacemaker 2.x, "* " bullets) into a Status. It is the last resort when no
// XML status can be had, so it is strict: any line it does not recognize
// makes the whole document an error rather than a guess. The text collapses
// clone instances ("Started: [ n1 n2 ]") without naming their agent, so the
// CIB (resources scope suffices) is needed to expand them.
func ParseStatusText(data []byte, cib *CIB) (*Status, error) {
	type frame struct {
		indent   int
		kind     string // "clone" or "group"
		id, base string // clone id and its child's id; group id
	}
	var stack []frame
	st := &Status{}
	lines := strings.Split(string(data), "\n")
	for n, raw := range lines {
		line := strings.TrimRight(raw, " \t\r")
		if line == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		content := line[indent:]
		bad := func(why string) error {
			return errors.New("pcs status resources line " + intfmt.Itoa(n+1) + " " + why + ": " + quoteLine(content))
		}
		if !strings.HasPrefix(content, "* ") {
			return nil, bad("is not in the Pacemaker 2 format")
		}
		content = content[2:]
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		var group, clone, cloneBase string
		for _, f := range stack {
			switch f.kind {
			case "group":
				group = f.id
			case "clone":
				clone, cloneBase = f.id, f.base
			}
		}
		switch {
		case strings.HasPrefix(content, "Clone Set: "):
			fields := strings.Fields(content[len("Clone Set: "):])
			if len(fields) < 2 || !strings.HasPrefix(fields[1], "[") {
				return nil, bad("has no [child]")
			}
			base := strings.TrimSuffix(strings.Trim(fields[1], "[]:"), "]")
			stack = append(stack, frame{indent: indent, kind: "clone", id: fields[0], base: base})
		case strings.HasPrefix(content, "Resource Group: "):
			fields := strings.Fields(content[len("Resource Group: "):])
			if len(fields) == 0 {
				return nil, bad("has no group name")
			}
			stack = append(stack, frame{indent: indent, kind: "group", id: baseID(strings.TrimSuffix(fields[0], ":"))})
		case isCollapsedClone(content):
			if clone == "" {
				return nil, bad("lists nodes outside a clone")
			}
			i := strings.Index(content, ": [ ")
			role := strings.Fields(content[:i])[0]
			nodes := strings.Fields(content[i+4 : len(content)-1])
			ins, err := expandCollapsed(cib, cloneBase, clone, role, nodes)
			if err != nil {
				return nil, bad(err.Error())
			}
			st.Instances = append(st.Instances, ins...)
		default:
			in, ok := parsePrimitiveLine(content)
			if !ok {
				return nil, bad("is not understood")
			}
			in.Group, in.Clone = group, clone
			st.Instances = append(st.Instances, in)
		}
	}
	return st, nil
}

// isCollapsedClone matches "Started: [ n1 n2 ]" and
// "Stopped (disabled): [ n1 ]".
func isCollapsedClone(s string) bool {
	i := strings.Index(s, ": [ ")
	return i > 0 && strings.HasSuffix(s, "]") && !strings.Contains(s[:i], "):")
}

// expandCollapsed turns a collapsed clone line into one instance per node
// and per primitive of the clone's child (a primitive or a group).
func expandCollapsed(cib *CIB, base, clone, role string, nodes []string) ([]Instance, error) {
	r := cib.Resources[base]
	if r == nil {
		return nil, errors.New("names " + base + ", which the CIB does not have")
	}
	prims := []*Resource{r}
	group := ""
	if r.Kind == "group" {
		prims, group = r.children, r.ID
	}
	active := role != "Stopped"
	var out []Instance
	for _, node := range nodes {
		for _, p := range prims {
			in := Instance{ID: p.ID, Agent: p.Agent(), Role: role, Active: active, Group: group, Clone: clone}
			if active {
				in.Nodes = []string{node}
			}
			out = append(out, in)
		}
	}
	return out, nil
}

// parsePrimitiveLine reads "id\t(class:provider:type):\t Role node (flags)"
// and "id (agent): Role [ n1 n2 ]" (active on several nodes).
func parsePrimitiveLine(s string) (Instance, bool) {
	open := strings.Index(s, "(")
	closeIdx := strings.Index(s, "):")
	if open <= 0 || closeIdx < open {
		return Instance{}, false
	}
	id := trim(s[:open])
	agent := s[open+1 : closeIdx]
	if id == "" || strings.ContainsAny(id, " \t") || !strings.Contains(agent, ":") {
		return Instance{}, false
	}
	words := strings.Fields(s[closeIdx+2:])
	// Leading flags Pacemaker may print before the role.
	for len(words) > 0 && (words[0] == "ORPHANED" || words[0] == "(ORPHANED)") {
		words = words[1:]
	}
	if len(words) == 0 {
		return Instance{}, false
	}
	in := Instance{ID: baseID(id), Agent: agent, Role: words[0]}
	switch in.Role {
	case "Stopped":
		return in, true
	case "FAILED":
		in.Failed = true
	}
	in.Active = true
	rest := words[1:]
	if len(rest) > 0 && rest[0] == "[" {
		for _, w := range rest[1:] {
			if w == "]" {
				break
			}
			in.Nodes = append(in.Nodes, w)
		}
	} else if len(rest) > 0 && !strings.HasPrefix(rest[0], "(") {
		in.Nodes = []string{rest[0]}
	}
	if len(in.Nodes) == 0 {
		return Instance{}, false // active but on no node: not a line we understand
	}
	return in, true
}

func quoteLine(s string) string {
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return `"` + s + `"`
}
