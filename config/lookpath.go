package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// defaultPath is used when PATH is not in the environment (fenced may run
// agents with a bare environment).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// resolveCommands turns bare program names into absolute paths with the
// PATH of the given environment. A name PATH does not resolve stays as
// given and only warns: a missing kubectl makes one strategy fail, it must
// not stop a fence from being recorded.
func resolveCommands(c *Config, env map[string]string) []string {
	var warnings []string
	pathVar, ok := env["PATH"]
	if !ok {
		pathVar = defaultPath
	}
	for _, name := range sortedKeys(c.Commands) {
		cmd := c.Commands[name]
		if cmd.Path == "" || strings.ContainsRune(cmd.Path, '/') || hasControl(cmd.Path) {
			continue
		}
		if found := lookPath(cmd.Path, pathVar); found != "" {
			cmd.Path = found
			c.Commands[name] = cmd
			continue
		}
		warnings = append(warnings, fmt.Sprintf("commands.%s.path: %q not found in PATH; strategies that run it will fail", name, cmd.Path))
	}
	return warnings
}

// lookPath is exec.LookPath with an explicit PATH, skipping relative
// entries (".", "") so the working directory never decides what runs.
func lookPath(name, pathVar string) string {
	for _, dir := range filepath.SplitList(pathVar) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}
