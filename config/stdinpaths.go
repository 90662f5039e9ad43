package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Whoever edits the CIB is trusted, and a command path from stdin already
// names a program root runs; still, an audit tool should not be the easiest
// way to make root create files in /etc. Paths from stdin are therefore
// kept out of the system trees unless the configuration file (which only
// root can edit) allows a prefix with allowed_stdin_paths.
var (
	// noStdinWrites are where a directory the agent creates and writes
	// into (log_dir) may not point from stdin.
	noStdinWrites = []string{"/proc", "/sys", "/dev", "/etc", "/boot", "/usr"}
	// noStdinReads are where a path the agent only reads or runs
	// (plugin_dir, kubectl_cmd, pcs_cmd, config_file) may not point from
	// stdin: the pseudo-filesystems, whose entries (/proc/self/root/...)
	// lead anywhere. /etc and /usr hold these paths' own defaults.
	noStdinReads = []string{"/proc", "/sys", "/dev"}
)

// checkStdinPaths applies the rules above to the keys stdin set.
func checkStdinPaths(c *Config, sources provenance, p *problems) {
	check := func(key, path string, denied []string) {
		if sources.of(key) != SourceStdin || path == "" {
			return
		}
		if why := stdinPathProblem(path, denied, c.AllowedStdinPaths); why != "" {
			p.add(key, why)
		}
	}
	check("log_dir", c.LogDir, noStdinWrites)
	check("plugin_dir", c.PluginDir, noStdinReads)
	for _, name := range sortedKeys(c.Commands) {
		if path := c.Commands[name].Path; strings.ContainsRune(path, '/') {
			check("commands."+name+".path", path, noStdinReads)
		}
	}
}

// CheckStdinConfigFile applies the read rule to config_file from stdin
// (the file that could allow more is the one being chosen, so nothing is
// allowed beyond the rule).
func CheckStdinConfigFile(path string) error {
	if why := stdinPathProblem(path, noStdinReads, nil); why != "" {
		return fmt.Errorf("config file %s", why)
	}
	return nil
}

// CheckStdinLogDir is the rule for a log_dir from stdin when the
// configuration did not load (so nothing is allowed beyond the rule).
func CheckStdinLogDir(path string) error {
	if why := stdinPathProblem(path, noStdinWrites, nil); why != "" {
		return fmt.Errorf("log_dir %s", why)
	}
	return nil
}

// stdinPathProblem says why path may not come from stdin, "" if it may.
// The path is judged as written and with the symbolic links of its
// existing part resolved, so /var/tmp/link-to-etc is /etc.
func stdinPathProblem(path string, denied, allowed []string) string {
	if !filepath.IsAbs(path) {
		return fmt.Sprintf("%q is not an absolute path", path)
	}
	for _, seg := range strings.Split(path, "/") {
		if seg == ".." {
			return fmt.Sprintf("%q contains '..'", path)
		}
	}
	for _, p := range []string{filepath.Clean(path), resolveExisting(path)} {
		if under(p, allowed) != "" {
			continue
		}
		if d := under(p, denied); d != "" {
			shown := fmt.Sprintf("%q", path)
			if p != filepath.Clean(path) {
				shown += fmt.Sprintf(" (%s once its links are resolved)", p)
			}
			return fmt.Sprintf("%s is under %s, where a path from stdin may not point (allow it in the configuration file with allowed_stdin_paths: [%s])", shown, d, p)
		}
	}
	return ""
}

// under returns the first of prefixes that path is or lies under.
func under(path string, prefixes []string) string {
	for _, pre := range prefixes {
		pre = filepath.Clean(pre)
		if path == pre || strings.HasPrefix(path, strings.TrimSuffix(pre, "/")+"/") {
			return pre
		}
	}
	return ""
}

// resolveExisting resolves the symbolic links of the longest existing
// ancestor of path and appends the rest.
func resolveExisting(path string) string {
	path = filepath.Clean(path)
	rest := ""
	for dir := path; ; dir = filepath.Dir(dir) {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, rest)
		} else if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, os.ErrPermission) {
			return path
		}
		if dir == "/" {
			return path
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}
