package fakekube

import (
	"fmt"
	"slices"
	"strings"
)

// selector is a parsed Kubernetes label selector: every requirement must hold.
type selector []requirement

type requirement struct {
	key    string
	op     string // "=", "!=", "in", "notin", "exists", "!exists"
	values []string
}

// parseSelector understands the label selector grammar kubectl sends:
// `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, joined by
// commas. Anything else is a 400, like a real server.
func parseSelector(s string) (selector, error) {
	var out selector
	for _, part := range splitTopLevel(s) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		r, err := parseRequirement(part)
		if err != nil {
			return nil, fmt.Errorf("unable to parse requirement: %q: %v", part, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// splitTopLevel splits on commas outside parentheses.
func splitTopLevel(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

func parseRequirement(p string) (requirement, error) {
	if strings.HasPrefix(p, "!") {
		return requirement{key: strings.TrimSpace(p[1:]), op: "!exists"}, nil
	}
	if i := strings.Index(p, "!="); i >= 0 {
		return requirement{key: strings.TrimSpace(p[:i]), op: "!=", values: []string{strings.TrimSpace(p[i+2:])}}, nil
	}
	if i := strings.Index(p, "=="); i >= 0 {
		return requirement{key: strings.TrimSpace(p[:i]), op: "=", values: []string{strings.TrimSpace(p[i+2:])}}, nil
	}
	if i := strings.Index(p, "="); i >= 0 {
		return requirement{key: strings.TrimSpace(p[:i]), op: "=", values: []string{strings.TrimSpace(p[i+1:])}}, nil
	}
	for _, op := range []string{" notin ", " in "} {
		if i := strings.Index(p, op); i >= 0 {
			set := strings.TrimSpace(p[i+len(op):])
			if !strings.HasPrefix(set, "(") || !strings.HasSuffix(set, ")") {
				return requirement{}, fmt.Errorf("expected a parenthesized set after %q", strings.TrimSpace(op))
			}
			var vals []string
			for _, v := range strings.Split(set[1:len(set)-1], ",") {
				vals = append(vals, strings.TrimSpace(v))
			}
			return requirement{key: strings.TrimSpace(p[:i]), op: strings.TrimSpace(op), values: vals}, nil
		}
	}
	if strings.ContainsAny(p, " ()<>") {
		return requirement{}, fmt.Errorf("unsupported operator")
	}
	return requirement{key: p, op: "exists"}, nil
}

func (s selector) matches(labels map[string]string) bool {
	for _, r := range s {
		v, has := labels[r.key]
		switch r.op {
		case "exists":
			if !has {
				return false
			}
		case "!exists":
			if has {
				return false
			}
		case "=":
			if !has || v != r.values[0] {
				return false
			}
		case "!=":
			if has && v == r.values[0] {
				return false
			}
		case "in":
			if !has || !slices.Contains(r.values, v) {
				return false
			}
		case "notin":
			if has && slices.Contains(r.values, v) {
				return false
			}
		}
	}
	return true
}
