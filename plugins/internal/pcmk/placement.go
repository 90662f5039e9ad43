package pcmk

// Placement says whether the configuration lets a resource run on a node.
// It is a static answer: where the resource really runs is crm_mon's job.
type Placement struct {
	MayRun bool
	// Disabled is set when the resource cannot run anywhere because it (or
	// an ancestor, or an earlier group member) has target-role=Stopped, or
	// the cluster has stop-all-resources set.
	Disabled bool
	// Reason says why MayRun is false, in words an operator can check.
	Reason string
	// Unevaluated lists constraints that touch the resource but could not
	// be evaluated from the configuration alone (time-based rules,
	// transient attributes, rsc-pattern). They did not change the answer.
	Unevaluated []string
}

// MayRun reports whether resource r may run on node. Pacemaker's rules as
// applied here:
//   - target-role=Stopped on r, an ancestor, or an earlier member of its
//     group, or stop-all-resources: disabled everywhere;
//   - a node that is not in the CIB: nothing runs there (standby does not
//     exclude: it is operational state, and a node is often fenced exactly
//     because stopping its filesystems for standby failed);
//   - an rsc_location with score -INFINITY for the node (by node= or by a
//     rule that matches it) on r or any ancestor: banned;
//   - symmetric-cluster=false: only nodes some location enables;
//   - a mandatory (INFINITY) colocation with a resource that may not run
//     on the node: cannot run there either.
func (c *CIB) MayRun(r *Resource, node string) Placement {
	return c.mayRun(r, node, map[string]bool{})
}

func (c *CIB) mayRun(r *Resource, node string, visiting map[string]bool) Placement {
	var p Placement
	if isTrue(c.Props["stop-all-resources"]) {
		return Placement{Disabled: true, Reason: "cluster option stop-all-resources is set"}
	}
	if by := r.StoppedBy(); by != "" {
		return Placement{Disabled: true, Reason: "target-role=Stopped on " + by}
	}
	if !c.HasConfiguration {
		p.MayRun = true
		return p
	}
	n, known := c.Node(node)
	if !known {
		if !c.RemoteNode(node) {
			return Placement{Reason: "node " + node + " is not in the CIB"}
		}
		n = Node{Uname: node, Type: "remote"}
	}

	lineage := map[string]bool{}
	for _, a := range r.Lineage() {
		lineage[a.ID] = true
	}
	enabled := false
	for _, loc := range c.Locations {
		if !appliesTo(loc, lineage) {
			if loc.RscPattern != "" {
				p.Unevaluated = append(p.Unevaluated, loc.ID)
			}
			continue
		}
		if loc.Role != "" && !equalFold(loc.Role, "Started") {
			continue // role-specific: limits promotion, not whether it runs
		}
		if loc.Node != "" {
			if loc.Node != node {
				continue
			}
			score, ok := ParseScore(loc.Score)
			if !ok {
				p.Unevaluated = append(p.Unevaluated, loc.ID)
				continue
			}
			if score == -Infinity {
				p.Reason = "location constraint " + loc.ID + " bans " + node
				return p
			}
			enabled = true
		}
		for _, rule := range loc.Rules {
			if role := rule.Attr("role"); role != "" && !equalFold(role, "Started") {
				continue // like a role-specific constraint
			}
			score, ok := ParseScore(rule.Attr("score"))
			if !ok { // score-attribute and friends: node-attribute driven
				p.Unevaluated = append(p.Unevaluated, loc.ID)
				continue
			}
			switch EvalRule(rule, n) {
			case Unknown:
				p.Unevaluated = append(p.Unevaluated, loc.ID)
			case True:
				if score == -Infinity {
					p.Reason = "location constraint " + loc.ID + " (rule " + rule.Attr("id") + ") bans " + node
					return p
				}
				enabled = true
			}
		}
	}
	if equalFold(c.Props["symmetric-cluster"], "false") && !enabled {
		p.Reason = "opt-in cluster (symmetric-cluster=false) and no location constraint enables " + node
		return p
	}

	visiting[r.ID] = true
	defer delete(visiting, r.ID)
	for _, col := range c.Colocations {
		if !lineage[col.Rsc] || visiting[col.WithRsc] {
			continue
		}
		if score, ok := ParseScore(col.Score); !ok || score != Infinity {
			continue // only mandatory colocations forbid a node
		}
		with := c.Resources[col.WithRsc]
		if with == nil {
			continue
		}
		if wp := c.mayRun(with, node, visiting); !wp.MayRun {
			p.Reason = "colocated (" + col.ID + ") with " + with.ID + ", which cannot run there: " + wp.Reason
			p.Disabled = wp.Disabled
			p.Unevaluated = append(p.Unevaluated, wp.Unevaluated...)
			return p
		} else {
			p.Unevaluated = append(p.Unevaluated, wp.Unevaluated...)
		}
	}
	p.MayRun = true
	return p
}

func appliesTo(loc Location, lineage map[string]bool) bool {
	for _, id := range loc.Resources {
		if lineage[id] {
			return true
		}
	}
	return false
}
