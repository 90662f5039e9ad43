package config

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// Decoding has two steps. The key walk checks every key the layers hold
// against the shape of Config (its koanf tags), so that an unknown key or a
// scalar where a section belongs gets a message that names the key and
// suggests the likely one. Then mapstructure, as koanf's UnmarshalWithConf
// configures it, converts the values that passed, with decode hooks built
// on the parsers in values.go, so each value error is ours too.
//
// Adding a key is adding a field with a koanf tag to a struct in types.go
// (and its default in Defaults): the walk and the decoding follow the
// types. Maps of sections name their entries with an `entry` tag; maps of
// values and free-form maps say what they hold with a `mapping` tag.

// nodeKind is the shape of a key.
type nodeKind int

const (
	leafNode    nodeKind = iota // a value (string, bool, list, duration, size)
	sectionNode                 // a struct: fixed keys
	namedNode                   // a map of sections keyed by a name the site chooses
	valuesNode                  // a map of names to plain strings
	freeNode                    // a free-form mapping, kept as YAML gave it
)

type node struct {
	kind   nodeKind
	name   string           // the key's last segment
	fields []string         // section: its keys, in declaration order
	field  map[string]*node // section: the shape of each key
	entry  *node            // named: the shape of each entry
	noun   string           // named: what an entry is ("command")
	note   string           // values, free: what the mapping holds
	typ    reflect.Type     // leaf: the value's type; values: the values' type
}

// schema is the shape of Config, read once from its type.
var schema = shapeOf(reflect.TypeOf(Config{}), "", "")

func shapeOf(t reflect.Type, name string, tag reflect.StructTag) *node {
	n := &node{name: name, typ: t}
	switch {
	case t.Kind() == reflect.Struct:
		n.kind, n.field = sectionNode, map[string]*node{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key := f.Tag.Get("koanf")
			if key == "" {
				continue
			}
			n.fields = append(n.fields, key)
			n.field[key] = shapeOf(f.Type, key, f.Tag)
		}
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Struct:
		n.kind, n.entry, n.noun = namedNode, shapeOf(t.Elem(), "", ""), tag.Get("entry")
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.String:
		n.kind, n.note, n.typ = valuesNode, tag.Get("mapping"), t.Elem()
	case t.Kind() == reflect.Map:
		n.kind, n.note = freeNode, tag.Get("mapping")
	default:
		n.kind = leafNode
	}
	return n
}

// decoder fills a Config from the merged, flattened layers (key ->
// value, keys joined by "."), reporting every bad or unknown key.
type decoder struct {
	p *problems
}

// decode starts from Defaults() so that whatever no layer mentions keeps
// its default, and a strategy or command section that a layer names only
// in part inherits the rest.
func (d *decoder) decode(flat map[string]any) Config {
	c := Defaults()
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	kept := make(map[string]any, len(flat))
	for _, k := range keys {
		p := strings.Split(k, ".")
		declare(&c, p)
		if d.walk(schema, k, p, 0, flat[k]) {
			kept[k] = flat[k]
		}
	}
	d.convert(&c, kept)
	return c
}

// declare gives a command, strategy or reporter section a site adds its
// defaults before any of its keys is decoded, so inheritance does not
// depend on key order. p is a key split at its dots.
func declare(c *Config, p []string) {
	switch {
	case len(p) >= 2 && p[0] == "commands":
		if _, ok := c.Commands[p[1]]; !ok {
			c.Commands[p[1]] = newCommand()
		}
	case len(p) >= 2 && p[0] == "strategies":
		if _, ok := c.Strategies[p[1]]; !ok {
			c.Strategies[p[1]] = newStrategy()
		}
	case len(p) >= 3 && p[0] == "reporting" && p[1] == "reporters":
		if _, ok := c.Reporting.Reporters[p[2]]; !ok {
			c.Reporting.Reporters[p[2]] = c.Reporting.Reporter(p[2])
		}
	}
}

// newCommand is the default of a command section a site adds.
func newCommand() Command {
	return Command{Args: []string{}, Env: []string{}, SetEnv: map[string]string{},
		Timeout: DefaultStrategyTimeout, OutputCap: DefaultOutputCap}
}

// newStrategy is the default of a strategy section a site adds.
func newStrategy() Strategy {
	return Strategy{Timeout: DefaultStrategyTimeout, MemoryLimit: DefaultMemoryLimit,
		Allow: []string{}, Config: map[string]any{}}
}

// walk checks key (split into p) below n, which p[:i] names. It reports
// whether the value is to be decoded; a key that only declares a section
// (an empty mapping) or has a problem is not.
func (d *decoder) walk(n *node, key string, p []string, i int, v any) bool {
	switch n.kind {
	case leafNode:
		if len(p) != i {
			d.p.add(key, "unknown key ("+strings.Join(p[:i], ".")+" is not a section)")
			return false
		}
		return d.notNull(key, n.typ, v)
	case sectionNode:
		if len(p) == i {
			if !emptySection(v) {
				d.p.add(key, "must be a mapping of "+strings.Join(n.fields, ", "))
			}
			return false
		}
		f, ok := n.field[p[i]]
		if !ok {
			d.p.add(key, "unknown key"+suggest(p[i], n.fields))
			return false
		}
		return d.walk(f, key, p, i+1, v)
	case namedNode:
		switch {
		case len(p) == i:
			if !emptySection(v) {
				d.p.parseFailed(key, "must be a mapping of "+n.noun+" names")
			}
			return false
		case len(p) == i+1:
			if !emptySection(v) {
				d.p.parseFailed(key, "must be a mapping of "+strings.Join(n.entry.fields, ", "))
			}
			return false
		}
		f, ok := n.entry.field[p[i+1]]
		if !ok {
			d.p.add(key, "unknown key"+dottedName(p[i:], n.entry.fields, n.noun))
			return false
		}
		return d.walk(f, key, p, i+2, v)
	case valuesNode:
		switch {
		case len(p) == i:
			if !emptySection(v) {
				d.p.parseFailed(key, "must be a mapping "+n.note)
			}
			return false
		case len(p) > i+1:
			d.p.add(key, "unknown key ("+n.name+" values are plain strings)")
			return false
		}
		return d.notNull(key, n.typ, v)
	default: // freeNode: values keep their YAML types and nesting
		if len(p) == i {
			if !emptySection(v) {
				d.p.parseFailed(key, "must be a mapping "+n.note)
			}
			return false
		}
		return true
	}
}

// notNull reports a YAML null where a value belongs, with the message of
// the value's parser (mapstructure leaves a nil input alone).
func (d *decoder) notNull(key string, t reflect.Type, v any) bool {
	if v != nil {
		return true
	}
	if _, err := valueHook(nil, t, nil); err != nil {
		d.p.parseFailed(key, err.Error())
	}
	return false
}

// emptySection: an empty mapping or YAML null (a section header with
// nothing under it) declares the section without setting anything.
func emptySection(v any) bool {
	if v == nil {
		return true
	}
	m, ok := v.(map[string]any)
	return ok && len(m) == 0
}

// convert decodes the checked keys into c with the values.go parsers.
// Each command and strategy is decoded on its own, into the section
// declare gave it: mapstructure would start a map entry from zero and drop
// it whole for one bad field.
func (d *decoder) convert(c *Config, kept map[string]any) {
	tree := unflatten(kept)
	commands, _ := tree["commands"].(map[string]any)
	strategies, _ := tree["strategies"].(map[string]any)
	var reporters map[string]any
	if r, ok := tree["reporting"].(map[string]any); ok {
		reporters, _ = r["reporters"].(map[string]any)
		delete(r, "reporters")
	}
	delete(tree, "commands")
	delete(tree, "strategies")
	d.unmarshal(tree, "", c)
	decodeEntries(d, c.Reporting.Reporters, reporters, "reporting.reporters.")
	decodeEntries(d, c.Commands, commands, "commands.")
	decodeEntries(d, c.Strategies, strategies, "strategies.")
}

// decodeEntries decodes each section of trees into the entry of the same
// name, which declare created.
func decodeEntries[T any](d *decoder, entries map[string]T, trees map[string]any, prefix string) {
	for name, sub := range trees {
		e := entries[name]
		d.unmarshal(sub, prefix+name+".", &e)
		entries[name] = e
	}
}

// unmarshal decodes tree into out as koanf's UnmarshalWithConf does (a
// mapstructure decoder on the koanf tags), reporting each value error under
// prefix + its key. It calls mapstructure itself because the tree is built
// here: UnmarshalWithConf would first load it into a koanf instance and
// deep-copy it out again, a third of the cost of a Load (measured).
func (d *decoder) unmarshal(tree any, prefix string, out any) {
	if m, ok := tree.(map[string]any); !ok || len(m) == 0 {
		return
	}
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: valueHook,
		TagName:    "koanf",
		Result:     out,
	})
	if err == nil {
		err = dec.Decode(tree)
	}
	for _, de := range decodeErrors(err) {
		d.p.parseFailed(prefix+keyOf(de.Name()), de.Unwrap().Error())
	}
}

// unflatten nests the flat keys again; an empty mapping in a free-form
// section stays a mapping.
func unflatten(flat map[string]any) map[string]any {
	out := map[string]any{}
	for key, v := range flat {
		p := strings.Split(key, ".")
		m := out
		for _, seg := range p[:len(p)-1] {
			sub, ok := m[seg].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[seg] = sub
			}
			m = sub
		}
		if emptySection(v) && v != nil {
			v = map[string]any{}
		}
		m[p[len(p)-1]] = v
	}
	return out
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	sizeType     = reflect.TypeOf(int64(0)) // every int64 in Config is a size in bytes
	listType     = reflect.TypeOf([]string(nil))
)

// valueHook converts each leaf with the values.go parser of its type, so
// a bad value's message is ours and names the value.
func valueHook(_, to reflect.Type, data any) (any, error) {
	switch to {
	case durationType:
		return parseDuration(data)
	case sizeType:
		return parseSize(data)
	case listType:
		return parseList(data)
	}
	switch to.Kind() {
	case reflect.String:
		return parseString(data)
	case reflect.Bool:
		return parseBool(data)
	case reflect.Int: // a count (reporting.max_spool), in the size grammar
		n, err := parseSize(data)
		return int(n), err
	}
	return data, nil
}

// decodeErrors lists the innermost errors of a mapstructure decoding,
// each with the name of the field it is about.
func decodeErrors(err error) []*mapstructure.DecodeError {
	var out []*mapstructure.DecodeError
	var walk func(error)
	walk = func(e error) {
		switch x := e.(type) {
		case nil:
		case *mapstructure.DecodeError:
			out = append(out, x)
		case interface{ Unwrap() []error }:
			for _, sub := range x.Unwrap() {
				walk(sub)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}

// keyOf turns mapstructure's field name (commands[kubectl].timeout) into
// the key (commands.kubectl.timeout).
func keyOf(name string) string {
	r := strings.NewReplacer("[", ".", "]", "")
	return r.Replace(name)
}

// dottedName explains the likely cause when a name held a dot (the key
// delimiter): strategies: {"a.b": {file: ...}} flattens to
// strategies.a.b.file. p starts at the entry's name.
func dottedName(p []string, fields []string, noun string) string {
	if len(p) > 2 && slices.Contains(fields, p[len(p)-1]) {
		return " (" + noun + " names cannot contain '.')"
	}
	return suggest(p[1], fields)
}

// suggest names the closest known key when a typo is likely.
func suggest(got string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(got, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return " (known: " + strings.Join(known, ", ") + ")"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
