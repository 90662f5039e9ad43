// Package pcmk reads the two Pacemaker documents the pcs strategies need: the
// CIB (configuration: resources, nodes, constraints) and crm_mon's XML status
// (which resource instances are active where, as Pacemaker itself computed
// it). It is shared by the pcs-status and pcs-config WebAssembly guests, so it
// must stay small: no fmt, encoding/xml or reflect (see the deps test).
package pcmk

import (
	"errors"
	"io"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/intfmt"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/xmlite"
)

// Element is one XML element with its attributes, child elements and the
// text directly inside it (only crm_mon's <error> messages carry text).
type Element struct {
	Name     string
	Attrs    []Attr
	Children []*Element
	Text     string
}

// Attr is one attribute, value already unescaped.
type Attr struct{ Name, Value string }

// Attr returns the value of the named attribute, or "".
func (e *Element) Attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// HasAttr reports whether the attribute is present at all.
func (e *Element) HasAttr(name string) bool {
	for _, a := range e.Attrs {
		if a.Name == name {
			return true
		}
	}
	return false
}

// Child returns the first child element with the given name, or nil.
func (e *Element) Child(name string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Find returns the first element named name in a depth-first walk of e and
// its descendants (e included), or nil.
func (e *Element) Find(name string) *Element {
	if e == nil {
		return nil
	}
	if e.Name == name {
		return e
	}
	for _, c := range e.Children {
		if f := c.Find(name); f != nil {
			return f
		}
	}
	return nil
}

// maxDepth bounds nesting so hostile input cannot grow the stack without
// limit; the deepest real CIB path (cib/configuration/constraints/
// rsc_location/rule/rule/expression) is far below it.
const maxDepth = 64

// ErrEmptyDocument is returned for input without a root element.
var ErrEmptyDocument = errors.New("no XML element in the document")

// ParseTree reads a whole XML document into a tree. Well-formedness (one
// root, matching tags, legal characters) is xmlite's job.
func ParseTree(data []byte) (*Element, error) {
	sc := xmlite.NewScanner(data)
	var root *Element
	var stack []*Element
	for {
		tok, err := sc.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok.Kind {
		case xmlite.StartElement:
			if len(stack) >= maxDepth {
				return nil, errors.New("XML nesting deeper than " + intfmt.Itoa(maxDepth) + " levels")
			}
			el := &Element{Name: tok.Name, Attrs: make([]Attr, len(tok.Attrs))}
			for i, a := range tok.Attrs {
				el.Attrs[i] = Attr{Name: a.Name, Value: a.Value}
			}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.Children = append(parent.Children, el)
			} else {
				root = el
			}
			stack = append(stack, el) // a self-closing element gets its EndElement too
		case xmlite.EndElement:
			stack = stack[:len(stack)-1]
		case xmlite.Text:
			stack[len(stack)-1].Text += tok.Text
		}
	}
	if root == nil {
		return nil, ErrEmptyDocument
	}
	return root, nil
}
