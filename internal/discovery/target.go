package discovery

import (
	"errors"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/nodename"
)

// Target is the fence target as the chain, the host and the record see it.
// Build it once with NewTarget, which decides whether discovery may see the
// node at all; Problem says why not.
type Target struct {
	Node   string // as Pacemaker named it; untrusted text
	Action string // on, off, reboot, or "run" for the plugins run admin command

	problem string // why no strategy may see Node; "" when one may
	checked bool   // built by NewTarget: problem is the verdict
}

// NewTarget checks node once for the whole run.
func NewTarget(node, action string) Target {
	return Target{Node: node, Action: action, problem: problemOf(node), checked: true}
}

// Problem says why discovery must not see the node, or "" when it may. A
// Target written as a literal (tests, admin commands) is checked here.
func (t Target) Problem() string {
	if t.checked {
		return t.problem
	}
	return problemOf(t.Node)
}

// Discoverable reports whether a strategy may be handed the node.
func (t Target) Discoverable() bool { return t.Problem() == "" }

func problemOf(node string) string {
	err := nodename.Validate(node)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, nodename.ErrEmpty):
		return "no target node given (nodename, plug or port)"
	}
	return err.Error()
}
