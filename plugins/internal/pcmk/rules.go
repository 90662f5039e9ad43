package pcmk

import (
	"strconv"
	"strings"
)

// Infinity is Pacemaker's INFINITY score; scores are clamped to ±Infinity.
const Infinity = 1000000

// ParseScore reads a Pacemaker score ("INFINITY", "+INFINITY", "-INFINITY" or
// an integer). ok is false for anything else (e.g. an empty score).
func ParseScore(s string) (score int, ok bool) {
	s = trim(s)
	switch lower(s) {
	case "infinity", "+infinity":
		return Infinity, true
	case "-infinity":
		return -Infinity, true
	}
	n, err := strconv.Atoi(strings.TrimPrefix(s, "+"))
	if err != nil {
		return 0, false
	}
	return max(-Infinity, min(Infinity, n)), true
}

// Truth is a three-valued result: a rule can depend on things the CIB's
// configuration does not hold (time, transient node attributes).
type Truth int8

const (
	False Truth = iota
	True
	Unknown
)

// EvalRule evaluates a <rule> for a node from the configuration alone:
// #uname, #id, #kind and permanent node attributes. Date expressions,
// resource/operation expressions, parameter-sourced values and attributes
// the node does not carry permanently (they may be transient) are Unknown.
func EvalRule(rule *Element, node Node) Truth {
	if rule.Attr("id-ref") != "" {
		return Unknown
	}
	or := equalFold(rule.Attr("boolean-op"), "or")
	acc := True
	if or {
		acc = False
	}
	seen := false
	for _, ch := range rule.Children {
		var t Truth
		switch ch.Name {
		case "expression":
			t = evalExpression(ch, node)
		case "rule":
			t = EvalRule(ch, node)
		case "date_expression", "rsc_expression", "op_expression":
			t = Unknown
		default:
			continue
		}
		seen = true
		if or {
			acc = truthOr(acc, t)
		} else {
			acc = truthAnd(acc, t)
		}
	}
	if !seen {
		// An empty rule: Pacemaker treats it as passing.
		return True
	}
	return acc
}

func truthAnd(a, b Truth) Truth {
	switch {
	case a == False || b == False:
		return False
	case a == Unknown || b == Unknown:
		return Unknown
	}
	return True
}

func truthOr(a, b Truth) Truth {
	switch {
	case a == True || b == True:
		return True
	case a == Unknown || b == Unknown:
		return Unknown
	}
	return False
}

func truth(b bool) Truth {
	if b {
		return True
	}
	return False
}

func evalExpression(ex *Element, node Node) Truth {
	if vs := ex.Attr("value-source"); vs != "" && vs != "literal" {
		return Unknown
	}
	attr, op, want := ex.Attr("attribute"), ex.Attr("operation"), ex.Attr("value")
	var have string
	var defined bool
	switch attr {
	case "#uname":
		have, defined = node.Uname, true
	case "#id":
		have, defined = node.ID, true
	case "#kind":
		have, defined = "cluster", true
		if node.Type == "remote" {
			have = "remote"
		}
	default:
		have, defined = node.Attrs[attr]
		if !defined {
			// Not a permanent attribute; it may be a transient one that
			// only the status section knows.
			return Unknown
		}
	}
	switch op {
	case "defined":
		return truth(defined)
	case "not_defined":
		return truth(!defined)
	case "eq", "ne", "lt", "gt", "lte", "gte":
	default:
		return Unknown
	}
	cmp, ok := compareValues(have, want, ex.Attr("type"), op)
	if !ok {
		return Unknown
	}
	switch op {
	case "eq":
		return truth(cmp == 0)
	case "ne":
		return truth(cmp != 0)
	case "lt":
		return truth(cmp < 0)
	case "gt":
		return truth(cmp > 0)
	case "lte":
		return truth(cmp <= 0)
	}
	return truth(cmp >= 0) // gte
}

// compareValues compares like Pacemaker: strings by default for eq/ne,
// numbers by default for ordering operators.
func compareValues(a, b, typ, op string) (int, bool) {
	if typ == "" {
		typ = "string"
		if op != "eq" && op != "ne" {
			typ = "number"
		}
	}
	switch lower(typ) {
	case "string":
		return strings.Compare(a, b), true
	case "integer", "number":
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		if err1 != nil || err2 != nil {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case "version":
		return compareVersions(a, b), true
	}
	return 0, false
}

func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// isTrue reads Pacemaker's boolean spellings.
func isTrue(s string) bool {
	switch lower(trim(s)) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}
