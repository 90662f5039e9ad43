package config

import (
	"fmt"
	"sort"
	"strings"
)

// Key schema. Sections "commands" and "strategies" are maps keyed by a
// name the site chooses; set_env and a strategy's config are free-form.
var (
	topKeys = []string{"log_dir", "recorder_node", "hosts", "plugin_dir", "builtin_dir",
		"cache_dir", "verbose", "delay", "discovery", "commands", "strategies", "safety", "storage_fence"}
	discoveryKeys = []string{"enabled", "order", "budget", "mode"}
	commandKeys   = []string{"path", "args", "env", "set_env", "timeout", "output_cap"}
	strategyKeys  = []string{"file", "timeout", "memory_limit", "allow", "config"}
	safetyKeys    = []string{"pairing_check"}
	storageKeys   = []string{"enabled", "request_dir", "response_dir", "timeout", "poll_interval", "cleanup_max_age"}
)

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

	// Declare every named section first, so that inheritance does not
	// depend on key order.
	for _, k := range keys {
		parts := strings.Split(k, ".")
		if len(parts) < 2 {
			continue
		}
		switch parts[0] {
		case "commands":
			if _, ok := c.Commands[parts[1]]; !ok {
				c.Commands[parts[1]] = newCommand()
			}
		case "strategies":
			if _, ok := c.Strategies[parts[1]]; !ok {
				c.Strategies[parts[1]] = newStrategy()
			}
		}
	}
	for _, k := range keys {
		d.set(&c, k, strings.Split(k, "."), flat[k])
	}
	return c
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

func (d *decoder) set(c *Config, key string, p []string, v any) {
	var err error
	switch p[0] {
	case "log_dir", "recorder_node", "plugin_dir", "builtin_dir", "cache_dir":
		if d.leaf(key, p, 1) {
			var s string
			if s, err = parseString(v); err == nil {
				switch p[0] {
				case "log_dir":
					c.LogDir = s
				case "recorder_node":
					c.RecorderNode = s
				case "plugin_dir":
					c.PluginDir = s
				case "builtin_dir":
					c.BuiltinDir = s
				case "cache_dir":
					c.CacheDir = s
				}
			}
		}
	case "hosts":
		if d.leaf(key, p, 1) {
			c.Hosts, err = parseList(v)
		}
	case "verbose":
		if d.leaf(key, p, 1) {
			c.Verbose, err = parseBool(v)
		}
	case "delay":
		if d.leaf(key, p, 1) {
			c.Delay, err = parseDuration(v)
		}
	case "discovery":
		if !d.section(key, p, v, discoveryKeys) {
			return
		}
		switch p[1] {
		case "enabled":
			c.Discovery.Enabled, err = parseBool(v)
		case "order":
			c.Discovery.Order, err = parseList(v)
		case "budget":
			c.Discovery.Budget, err = parseDuration(v)
		case "mode":
			c.Discovery.Mode, err = parseString(v)
		}
	case "safety":
		if !d.section(key, p, v, safetyKeys) {
			return
		}
		c.Safety.PairingCheck, err = parseBool(v)
	case "storage_fence":
		if !d.section(key, p, v, storageKeys) {
			return
		}
		sf := &c.StorageFence
		switch p[1] {
		case "enabled":
			sf.Enabled, err = parseBool(v)
		case "request_dir":
			sf.RequestDir, err = parseString(v)
		case "response_dir":
			sf.ResponseDir, err = parseString(v)
		case "timeout":
			sf.Timeout, err = parseDuration(v)
		case "poll_interval":
			sf.PollInterval, err = parseDuration(v)
		case "cleanup_max_age":
			sf.CleanupMaxAge, err = parseDuration(v)
		}
	case "commands":
		err = d.setCommand(c, key, p, v)
	case "strategies":
		err = d.setStrategy(c, key, p, v)
	default:
		d.p.add(key, "unknown key"+suggest(p[0], topKeys))
	}
	if err != nil {
		d.p.parseFailed(key, err.Error())
	}
}

// leaf reports whether p is a plain key of depth n; deeper keys under a
// scalar setting are unknown.
func (d *decoder) leaf(key string, p []string, n int) bool {
	if len(p) != n {
		d.p.add(key, "unknown key ("+strings.Join(p[:n], ".")+" is not a section)")
		return false
	}
	return true
}

// section checks a key of a fixed section: "discovery" alone must be a
// (possibly empty) mapping, and its field must be one of fields.
func (d *decoder) section(key string, p []string, v any, fields []string) bool {
	if len(p) == 1 {
		if !emptySection(v) {
			d.p.add(key, "must be a mapping of "+strings.Join(fields, ", "))
		}
		return false
	}
	if !contains(fields, p[1]) {
		d.p.add(key, "unknown key"+suggest(p[1], fields))
		return false
	}
	return d.leaf(key, p, 2)
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

func (d *decoder) setCommand(c *Config, key string, p []string, v any) error {
	if len(p) == 1 {
		if !emptySection(v) {
			return fmt.Errorf("must be a mapping of command names")
		}
		return nil
	}
	cmd := c.Commands[p[1]]
	defer func() { c.Commands[p[1]] = cmd }()
	if len(p) == 2 {
		if !emptySection(v) {
			return fmt.Errorf("must be a mapping of %s", strings.Join(commandKeys, ", "))
		}
		return nil
	}
	if !contains(commandKeys, p[2]) {
		d.p.add(key, "unknown key"+dottedName(p, commandKeys, "command"))
		return nil
	}
	if p[2] == "set_env" {
		switch len(p) {
		case 3:
			if !emptySection(v) {
				return fmt.Errorf("must be a mapping of variable names to values")
			}
		case 4:
			s, err := parseString(v)
			if err != nil {
				return err
			}
			cmd.SetEnv[p[3]] = s
		default:
			d.p.add(key, "unknown key (set_env values are plain strings)")
		}
		return nil
	}
	if !d.leaf(key, p, 3) {
		return nil
	}
	var err error
	switch p[2] {
	case "path":
		cmd.Path, err = parseString(v)
	case "args":
		cmd.Args, err = parseList(v)
	case "env":
		cmd.Env, err = parseList(v)
	case "timeout":
		cmd.Timeout, err = parseDuration(v)
	case "output_cap":
		cmd.OutputCap, err = parseSize(v)
	}
	return err
}

func (d *decoder) setStrategy(c *Config, key string, p []string, v any) error {
	if len(p) == 1 {
		if !emptySection(v) {
			return fmt.Errorf("must be a mapping of strategy names")
		}
		return nil
	}
	st := c.Strategies[p[1]]
	defer func() { c.Strategies[p[1]] = st }()
	if len(p) == 2 {
		if !emptySection(v) {
			return fmt.Errorf("must be a mapping of %s", strings.Join(strategyKeys, ", "))
		}
		return nil
	}
	if !contains(strategyKeys, p[2]) {
		d.p.add(key, "unknown key"+dottedName(p, strategyKeys, "strategy"))
		return nil
	}
	if p[2] == "config" {
		// Free-form: handed to the guest as Request.Config, so values keep
		// their YAML types and nesting.
		if len(p) == 3 {
			if !emptySection(v) {
				return fmt.Errorf("must be a mapping (it becomes the strategy's Request.Config)")
			}
			return nil
		}
		setNested(st.Config, p[3:], v)
		return nil
	}
	if !d.leaf(key, p, 3) {
		return nil
	}
	var err error
	switch p[2] {
	case "file":
		st.File, err = parseString(v)
	case "timeout":
		st.Timeout, err = parseDuration(v)
	case "memory_limit":
		st.MemoryLimit, err = parseSize(v)
	case "allow":
		st.Allow, err = parseList(v)
	}
	return err
}

// setNested stores v at path inside m, creating maps on the way.
func setNested(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		sub, ok := m[k].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[k] = sub
		}
		m = sub
	}
	if emptySection(v) && v != nil {
		v = map[string]any{}
	}
	m[path[len(path)-1]] = v
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// dottedName explains the likely cause when a name held a dot (the key
// delimiter): strategies: {"a.b": {file: ...}} flattens to
// strategies.a.b.file.
func dottedName(p []string, fields []string, section string) string {
	if len(p) > 3 && contains(fields, p[len(p)-1]) {
		return " (" + section + " names cannot contain '.')"
	}
	return suggest(p[2], fields)
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
