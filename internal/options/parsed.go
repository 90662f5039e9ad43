package options

import (
	"fmt"
)

// Layers: where the option values came from. They label config sources.
const (
	LayerArgv  = "argv"
	LayerStdin = "stdin"
)

// Parsed is the result of parsing argv or stdin.
type Parsed struct {
	Layer  string
	Values map[string]string // option Name -> raw value ("1"/"0" for argv flags)
	// Warnings are problems that did not stop parsing (unknown stdin keys,
	// junk lines). They are safe to print: no raw input bytes.
	Warnings []string
	// Subcommand is "config" or "plugins" when argv started with one;
	// SubArgs are the words after "plugins".
	Subcommand string
	SubArgs    []string
}

// Has reports whether the option was given.
func (p *Parsed) Has(name string) bool { _, ok := p.Values[name]; return ok }

// Flag reports whether a boolean command option (help, version...) was set.
func (p *Parsed) Flag(name string) bool {
	v, ok := p.Values[name]
	if !ok {
		return false
	}
	b, err := ParseBool(v)
	return err == nil && b
}

// Action is the requested action, "reboot" when none was given (the
// fence-agents default). It is returned as given (only trimmed): the caller
// rejects what IsAction does not know.
func (p *Parsed) Action() string {
	if v, ok := p.Values[Action]; ok && v != "" {
		return v
	}
	return "reboot"
}

// Target is the node being fenced: nodename (fenced always sends it, while
// port/plug may hold a pcmk_host_map alias such as a BMC name), then plug,
// then port.
func (p *Parsed) Target() string { return p.firstSet(Nodename, Plug, Port) }

// StorageTarget is the node a storage fence acts on: the NNF compute name
// nnf-sos matches byte for byte, which the device configures as port (or
// plug); nodename (Pacemaker's name, possibly different) only when neither
// is set.
func (p *Parsed) StorageTarget() string { return p.firstSet(Plug, Port, Nodename) }

// firstSet is the value of the first of keys given a non-empty value.
func (p *Parsed) firstSet(keys ...string) string {
	for _, k := range keys {
		if v := p.Values[k]; v != "" {
			return v
		}
	}
	return ""
}

// Overrides converts the options that map to configuration keys into the
// option layer for config loading. Values that do not parse are left out and
// reported, each error naming the option and the layer, so a caller can still
// use the valid ones (the recorder must record even with a bad delay=).
func (p *Parsed) Overrides() (map[string]any, []error) {
	out := map[string]any{}
	var errs []error
	for i := range Table {
		o := &Table[i]
		v, ok := p.Values[o.Name]
		if !ok || o.ConfigKey == "" {
			continue
		}
		val, err := o.convert(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s option %s: %w", p.Layer, o.Name, err))
			continue
		}
		out[o.ConfigKey] = val
	}
	return out, errs
}

// ConfigFile is the --config/config_file value, "" when not given.
func (p *Parsed) ConfigFile() string { return p.Values[ConfigFile] }
