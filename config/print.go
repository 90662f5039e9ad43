package config

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// toMap is the koanf form of a Config: nested maps keyed like the YAML
// file. Written out by hand so the defaults layer costs no reflection.
func toMap(c Config) map[string]any {
	commands := make(map[string]any, len(c.Commands))
	for name, cmd := range c.Commands {
		setEnv := make(map[string]any, len(cmd.SetEnv))
		for k, v := range cmd.SetEnv {
			setEnv[k] = v
		}
		commands[name] = map[string]any{
			"path": cmd.Path, "args": cloneList(cmd.Args), "env": cloneList(cmd.Env),
			"set_env": setEnv, "timeout": cmd.Timeout, "output_cap": cmd.OutputCap,
		}
	}
	strategies := make(map[string]any, len(c.Strategies))
	for name, st := range c.Strategies {
		strategies[name] = sandboxMap(st)
	}
	reporting, metrics := reportingMap(c)
	return map[string]any{
		"log_dir": c.LogDir, "recorder_node": c.RecorderNode, "hosts": cloneList(c.Hosts),
		"plugin_dir": c.PluginDir, "builtin_dir": c.BuiltinDir, "cache_dir": c.CacheDir,
		"verbose": c.Verbose, "delay": c.Delay,
		"discovery": map[string]any{
			"enabled": c.Discovery.Enabled, "order": cloneList(c.Discovery.Order),
			"budget": c.Discovery.Budget, "mode": c.Discovery.Mode,
			"fence_wait": c.Discovery.FenceWait, "hedge_after": c.Discovery.HedgeAfter,
		},
		"commands":            commands,
		"strategies":          strategies,
		"safety":              map[string]any{"pairing_check": c.Safety.PairingCheck},
		"allowed_stdin_paths": cloneList(c.AllowedStdinPaths),
		"reporting":           reporting,
		"metrics":             metrics,
		"storage_fence": map[string]any{
			"enabled": c.StorageFence.Enabled, "request_dir": c.StorageFence.RequestDir,
			"response_dir": c.StorageFence.ResponseDir, "timeout": c.StorageFence.Timeout,
			"poll_interval": c.StorageFence.PollInterval, "cleanup_max_age": c.StorageFence.CleanupMaxAge,
		},
	}
}

func sandboxMap(st Strategy) map[string]any {
	return map[string]any{
		"file": st.File, "timeout": st.Timeout, "memory_limit": st.MemoryLimit,
		"allow": cloneList(st.Allow), "config": cloneAny(st.Config),
	}
}

func sandboxLeaves(add func(key, value string), k string, st Strategy) {
	add(k+"file", strconv.Quote(st.File))
	add(k+"timeout", formatDuration(st.Timeout))
	add(k+"memory_limit", formatSize(st.MemoryLimit))
	add(k+"allow", formatList(st.Allow))
	addAny(add, k+"config", st.Config)
}

func cloneList(s []string) []string { return append([]string{}, s...) }

func cloneAny(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = cloneAny(sub)
		}
		out[k] = v
	}
	return out
}

// leaf is one printed line of the effective config.
type leaf struct{ key, value string }

// leaves lists every leaf of c, sorted by key. Empty maps are one leaf
// ("{}") so that every section shows up.
func leaves(c *Config) []leaf {
	var out []leaf
	add := func(key, value string) { out = append(out, leaf{key, value}) }
	add("log_dir", strconv.Quote(c.LogDir))
	add("recorder_node", strconv.Quote(c.RecorderNode))
	add("hosts", formatList(c.Hosts))
	add("plugin_dir", strconv.Quote(c.PluginDir))
	add("builtin_dir", strconv.Quote(c.BuiltinDir))
	add("cache_dir", strconv.Quote(c.CacheDir))
	add("verbose", strconv.FormatBool(c.Verbose))
	add("delay", formatDuration(c.Delay))
	add("discovery.enabled", strconv.FormatBool(c.Discovery.Enabled))
	add("discovery.order", formatList(c.Discovery.Order))
	add("discovery.budget", formatDuration(c.Discovery.Budget))
	add("discovery.mode", strconv.Quote(c.Discovery.Mode))
	add("discovery.fence_wait", formatDuration(c.Discovery.FenceWait))
	add("discovery.hedge_after", formatDuration(c.Discovery.HedgeAfter))
	add("safety.pairing_check", strconv.FormatBool(c.Safety.PairingCheck))
	add("allowed_stdin_paths", formatList(c.AllowedStdinPaths))
	add("storage_fence.enabled", strconv.FormatBool(c.StorageFence.Enabled))
	add("storage_fence.request_dir", strconv.Quote(c.StorageFence.RequestDir))
	add("storage_fence.response_dir", strconv.Quote(c.StorageFence.ResponseDir))
	add("storage_fence.timeout", formatDuration(c.StorageFence.Timeout))
	add("storage_fence.poll_interval", formatDuration(c.StorageFence.PollInterval))
	add("storage_fence.cleanup_max_age", formatDuration(c.StorageFence.CleanupMaxAge))
	for name, cmd := range c.Commands {
		k := "commands." + name + "."
		add(k+"path", strconv.Quote(cmd.Path))
		add(k+"args", formatList(cmd.Args))
		add(k+"env", formatList(cmd.Env))
		if len(cmd.SetEnv) == 0 {
			add(k+"set_env", "{}")
		}
		for v, val := range cmd.SetEnv {
			add(k+"set_env."+v, strconv.Quote(val))
		}
		add(k+"timeout", formatDuration(cmd.Timeout))
		add(k+"output_cap", formatSize(cmd.OutputCap))
	}
	for name, st := range c.Strategies {
		sandboxLeaves(add, "strategies."+name+".", st)
	}
	reportingLeaves(c, add)
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// addAny flattens a free-form strategy config like koanf does.
func addAny(add func(key, value string), key string, v any) {
	if m, ok := v.(map[string]any); ok {
		if len(m) == 0 {
			add(key, "{}")
		}
		for k, sub := range m {
			addAny(add, key+"."+k, sub)
		}
		return
	}
	add(key, formatAny(v))
}

func formatAny(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case []string:
		return formatList(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatAny(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := sortedKeys(x)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = strconv.Quote(k) + ": " + formatAny(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprintf("%v", v)
}

func formatList(s []string) string {
	parts := make([]string, len(s))
	for i, e := range s {
		parts[i] = strconv.Quote(e)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// formatDuration prints Go syntax, which Load reads back.
func formatDuration(d time.Duration) string { return d.String() }

// printColumn is where the "# source" comments start when lines are short
// enough; longer lines get three blanks.
const printColumn = 56

// Print writes the effective configuration, one `key = value   # source`
// line per leaf, sorted by key. Values are quoted and escaped, so no
// configured string can break a line, and read back as the same value.
func (l *Loaded) Print(w io.Writer) {
	var b strings.Builder
	for _, lf := range leaves(&l.Config) {
		src := l.Sources[lf.key]
		if src == "" {
			src = SourceDefault
		}
		if hasControl(src) {
			src = strconv.Quote(src)
		}
		line := lf.key + " = " + lf.value
		b.WriteString(line)
		pad := 3
		if len(line)+3 < printColumn {
			pad = printColumn - len(line)
		}
		b.WriteString(strings.Repeat(" ", pad))
		b.WriteString("# ")
		b.WriteString(src)
		b.WriteByte('\n')
	}
	_, _ = io.WriteString(w, b.String())
}
