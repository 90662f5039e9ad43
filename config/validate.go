package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/storagefence"
)

// Limits checked by Validate.
const (
	// MinMemoryLimit is the least linear memory a Go wasip1 guest can
	// start in (its runtime reserves a few MiB before main).
	MinMemoryLimit = 4 * MiB
	// MaxMemoryLimit is the wasm32 address space.
	MaxMemoryLimit = 4 << 30
	// WasmPage is the unit of wasm linear memory.
	WasmPage = 64 << 10

	MinOutputCap = 1 << 10
	MaxOutputCap = 1 << 30

	// MaxDelay bounds delay: a longer wait would outlast any sensible
	// stonith timeout and make the fence fail instead of being recorded.
	MaxDelay = 10 * time.Minute
)

// Validate checks the semantic rules that a type alone cannot express.
// Load calls it with the layer of every key; called directly, messages
// name the key only.
func (c *Config) Validate() error {
	p := &problems{}
	c.validate(p)
	return p.err()
}

func (c *Config) validate(p *problems) {
	dirKey := func(key, dir string, optional bool) {
		switch {
		case dir == "" && optional:
		case dir == "":
			p.add(key, "must not be empty")
		case !filepath.IsAbs(dir):
			p.add(key, fmt.Sprintf("%q is not an absolute path", dir))
		case hasControl(dir):
			p.add(key, fmt.Sprintf("%q contains control characters", dir))
		}
	}
	dirKey("log_dir", c.LogDir, false)
	dirKey("plugin_dir", c.PluginDir, true)
	dirKey("builtin_dir", c.BuiltinDir, true)
	dirKey("cache_dir", c.CacheDir, true)

	if hasControl(c.RecorderNode) || strings.ContainsAny(c.RecorderNode, " \t") {
		p.add("recorder_node", fmt.Sprintf("%q contains blanks or control characters", c.RecorderNode))
	}
	for _, h := range c.Hosts {
		// list prints one host per line: a blank or newline would forge one.
		if h == "" || hasControl(h) || strings.ContainsAny(h, " \t") {
			p.add("hosts", fmt.Sprintf("%q is not a host name", h))
		}
	}
	for _, pre := range c.AllowedStdinPaths {
		if !filepath.IsAbs(pre) || hasControl(pre) {
			p.add("allowed_stdin_paths", fmt.Sprintf("%q is not an absolute path", pre))
		}
	}
	if c.Delay < 0 || c.Delay > MaxDelay {
		p.add("delay", fmt.Sprintf("%s is out of range (0 to %s)", c.Delay, MaxDelay))
	}

	c.StorageFence.validate(p, dirKey)

	if c.Discovery.Budget <= 0 {
		p.add("discovery.budget", fmt.Sprintf("%s must be positive", c.Discovery.Budget))
	}
	if c.Discovery.Mode != ModeBounded && c.Discovery.Mode != ModeInline && c.Discovery.Mode != ModeDeferred {
		p.add("discovery.mode", fmt.Sprintf("%q is not %s, %s or %s", c.Discovery.Mode, ModeBounded, ModeInline, ModeDeferred))
	}
	if c.Discovery.FenceWait < 0 {
		p.add("discovery.fence_wait", fmt.Sprintf("%s must not be negative", c.Discovery.FenceWait))
	}
	if c.Discovery.HedgeAfter < 0 {
		p.add("discovery.hedge_after", fmt.Sprintf("%s must not be negative", c.Discovery.HedgeAfter))
	}
	seen := map[string]bool{}
	for _, name := range c.Discovery.Order {
		switch {
		case seen[name]:
			p.add("discovery.order", fmt.Sprintf("%q is listed twice", name))
		case !validName(name):
			p.add("discovery.order", fmt.Sprintf("%q is not a valid strategy name (letters, digits, '-', '_')", name))
		case !c.strategyKnown(name):
			p.add("discovery.order", fmt.Sprintf("unknown strategy %q (known: %s; or add strategies.%s.file, or drop %s)",
				name, strings.Join(sortedKeys(c.Strategies), ", "), name, filepath.Join(c.PluginDir, name+".wasm")))
		}
		seen[name] = true
	}

	for _, name := range sortedKeys(c.Commands) {
		c.Commands[name].validate(p, "commands."+name, name)
	}
	for _, name := range sortedKeys(c.Strategies) {
		c.validateSandbox(p, "strategies."+name, name, c.Strategies[name])
	}
	c.validateReporting(p)
}

// validateSandbox checks one strategy or reporter section at key.
func (c *Config) validateSandbox(p *problems, key, name string, st Strategy) {
	noun := "strategy"
	if strings.HasPrefix(key, "reporting.") {
		noun = "reporter"
	}
	if !validName(name) {
		p.add(key, "is not a valid "+noun+" name (letters, digits, '-', '_')")
	}
	if st.File != "" && (!filepath.IsAbs(st.File) || hasControl(st.File)) {
		p.add(key+".file", fmt.Sprintf("%q is not an absolute path", st.File))
	}
	if st.Timeout <= 0 {
		p.add(key+".timeout", fmt.Sprintf("%s must be positive", st.Timeout))
	}
	if m := st.MemoryLimit; m < MinMemoryLimit || m > MaxMemoryLimit || m%WasmPage != 0 {
		p.add(key+".memory_limit", fmt.Sprintf("%s is out of range (4MiB to 4GiB, a multiple of 64KiB)", formatSize(m)))
	}
	for _, cmd := range st.Allow {
		if _, ok := c.Commands[cmd]; !ok {
			p.add(key+".allow", fmt.Sprintf("command %q is not defined (known: %s)",
				cmd, strings.Join(sortedKeys(c.Commands), ", ")))
		}
	}
}

func (cmd Command) validate(p *problems, key, name string) {
	if !validName(name) {
		p.add(key, "is not a valid command name (letters, digits, '-', '_')")
	}
	// A bare program name that PATH did not resolve is allowed: the
	// strategy that runs it fails, the fence is still recorded. A path
	// relative to the working directory is not: fenced's cwd decides what
	// would run.
	switch path := cmd.Path; {
	case path == "":
		p.add(key+".path", "must not be empty")
	case hasControl(path):
		p.add(key+".path", fmt.Sprintf("%q contains control characters", path))
	case !filepath.IsAbs(path) && strings.ContainsRune(path, '/'):
		p.add(key+".path", fmt.Sprintf("%q is not an absolute path", path))
	}
	for _, e := range cmd.Env {
		if !validEnvName(e) {
			p.add(key+".env", fmt.Sprintf("%q is not an environment variable name", e))
		}
	}
	for _, e := range sortedKeys(cmd.SetEnv) {
		if !validEnvName(e) {
			p.add(key+".set_env."+e, "is not an environment variable name")
		}
	}
	if cmd.Timeout <= 0 {
		p.add(key+".timeout", fmt.Sprintf("%s must be positive", cmd.Timeout))
	}
	if cmd.OutputCap < MinOutputCap || cmd.OutputCap > MaxOutputCap {
		p.add(key+".output_cap", fmt.Sprintf("%s is out of range (1KiB to 1GiB)", formatSize(cmd.OutputCap)))
	}
}

// strategyKnown: a strategy is declared by a strategies entry, or by a
// file dropped into plugin_dir.
func (c *Config) strategyKnown(name string) bool {
	if _, ok := c.Strategies[name]; ok {
		return true
	}
	if c.PluginDir == "" {
		return false
	}
	fi, err := os.Stat(filepath.Join(c.PluginDir, name+".wasm"))
	return err == nil && fi.Mode().IsRegular()
}

// validName keeps strategy and command names usable as file names and
// as env-var segments: no dots (the key delimiter), no slashes.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return s[0] != '-'
}

func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_') {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// MaxFenceTimeout bounds storage_fence.timeout. It is also the floor of the
// stale-request cleanup (storagefence.MaxTimeout): no agent waits longer.
const MaxFenceTimeout = storagefence.MaxTimeout

func (sf *StorageFence) validate(p *problems, dirKey func(key, dir string, optional bool)) {
	for key, d := range map[string]time.Duration{"storage_fence.timeout": sf.Timeout,
		"storage_fence.poll_interval": sf.PollInterval, "storage_fence.cleanup_max_age": sf.CleanupMaxAge} {
		if msg := checkFenceDuration(key, d); msg != "" {
			p.add(key, msg)
		}
	}
	dirKey("storage_fence.request_dir", sf.RequestDir, false)
	dirKey("storage_fence.response_dir", sf.ResponseDir, false)
	if sf.RequestDir != "" && filepath.Clean(sf.RequestDir) == filepath.Clean(sf.ResponseDir) {
		p.add("storage_fence.response_dir", "must differ from storage_fence.request_dir (nnf-sos would read answers as requests)")
	}
}

// checkFenceDuration is "" when d is a valid value for key: positive, and
// for the waits at most MaxFenceTimeout (cleanup_max_age has no ceiling).
func checkFenceDuration(key string, d time.Duration) string {
	switch {
	case d <= 0:
		return fmt.Sprintf("%s must be positive", d)
	case key != "storage_fence.cleanup_max_age" && d > MaxFenceTimeout:
		return fmt.Sprintf("%s is more than %s", d, MaxFenceTimeout)
	}
	return ""
}

// CheckFenceDuration parses and checks a value for one of the
// storage_fence durations (seconds or Go syntax), for the option layer.
func CheckFenceDuration(key, v string) (time.Duration, error) {
	d, err := parseDuration(v)
	if err != nil {
		return 0, err
	}
	if msg := checkFenceDuration(key, d); msg != "" {
		return 0, errors.New(msg)
	}
	return d, nil
}
