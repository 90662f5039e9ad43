package config

import (
	"sort"
	"strings"
)

// FieldError is one problem with one key. Source names the layer the
// value came from ("default", "file:/etc/...", "env:KUBECTL_CMD", "argv",
// "stdin") so an operator knows where to fix it; it is empty when the
// Config was built in code and checked with Validate.
type FieldError struct {
	Key     string
	Problem string
	Source  string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Key)
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Source != "" {
		b.WriteString(" (from ")
		b.WriteString(e.Source)
		b.WriteString(")")
	}
	return b.String()
}

// Errors is every problem found in one configuration. Load reports them
// all at once so a site fixes its file in one pass, on one line so the
// message fits a log record.
type Errors []*FieldError

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap lets errors.As find a single *FieldError.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// problems collects FieldErrors while decoding and validating.
type problems struct {
	list   Errors
	source func(key string) string
	// unparsed keys already have an error; validation stays quiet about
	// the zero value they were left with.
	unparsed map[string]bool
}

// parseFailed records that the value at key could not be read at all.
func (p *problems) parseFailed(key, problem string) {
	if p.unparsed == nil {
		p.unparsed = map[string]bool{}
	}
	p.unparsed[key] = true
	p.append(key, problem)
}

// add records a problem unless the key's value could not be parsed.
func (p *problems) add(key, problem string) {
	if !p.unparsed[key] {
		p.append(key, problem)
	}
}

func (p *problems) append(key, problem string) {
	src := ""
	if p.source != nil {
		src = p.source(key)
	}
	p.list = append(p.list, &FieldError{Key: key, Problem: problem, Source: src})
}

// err returns nil or the problems sorted by key (stable, so messages are
// reproducible whatever the map iteration order was).
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return p.list.sorted()
}

// union adds the problems of more that es does not have yet (dropping a
// key and decoding again finds the other problems a second time).
func (es Errors) union(more Errors) Errors {
	seen := map[string]bool{}
	for _, e := range es {
		seen[e.Error()] = true
	}
	for _, e := range more {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			es = append(es, e)
		}
	}
	return es
}

// sorted orders the problems by key, stably (messages are reproducible
// whatever the map iteration order was).
func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Key < es[j].Key })
	return es
}
