package host

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
)

// Where a strategy's module came from.
const (
	KindFile      = "file"       // strategies.<name>.file
	KindBuiltin   = "builtin"    // shipped with the agent
	KindPluginDir = "plugin-dir" // a site drop-in in plugin_dir
)

// Location is a resolved strategy module.
type Location struct {
	Name string
	Path string
	Kind string
}

// BuiltinModule is the file in the built-in directory that serves every
// built-in strategy (config.BuiltinStrategies), built from plugins/builtin.
const BuiltinModule = "builtin.wasm"

// Resolve finds the module of strategy name, in this order:
//  1. strategies.<name>.file, when set (it must exist);
//  2. for a built-in strategy, BuiltinModule in the built-in directory:
//     builtin_dir, or when empty <dir of the executable>/../lib/fence_gfs2_recorder/plugins
//     if that exists, else <dir of the executable>/plugins;
//  3. <plugin_dir>/<name>.wasm (site drop-ins).
//
// Built-ins win over drop-ins so a stray file in plugin_dir cannot replace a
// shipped strategy; a site that means to must say so with strategies.<name>.file.
func Resolve(cfg *config.Config, name string) (Location, error) {
	st := cfg.Strategies[name]
	loc, searched, err := resolve(cfg, name, st.File, config.IsBuiltin(name))
	if err == nil && loc.Path == "" {
		err = fmt.Errorf("%w %q: no strategies.%s.file and no module at %s",
			discovery.ErrUnknownStrategy, name, name, strings.Join(searched, " or "))
	}
	return loc, err
}

// resolve is the search Resolve and ResolveReporter share: the configured
// file, else the built-in module for a built-in name, else
// <plugin_dir>/<name>.wasm. An empty Location with the paths searched says
// none was found.
func resolve(cfg *config.Config, name, file string, builtin bool) (loc Location, searched []string, err error) {
	if err := checkStrategyName(name); err != nil {
		return Location{}, nil, err
	}
	if file != "" {
		return Location{Name: name, Path: file, Kind: KindFile}, nil, nil
	}
	if dir := BuiltinDir(cfg); dir != "" && builtin {
		p := filepath.Join(dir, BuiltinModule)
		if _, err := os.Stat(p); err == nil {
			return Location{Name: name, Path: p, Kind: KindBuiltin}, nil, nil
		}
		searched = append(searched, p)
	}
	if cfg.PluginDir != "" {
		p := filepath.Join(cfg.PluginDir, name+".wasm")
		if _, err := os.Stat(p); err == nil {
			return Location{Name: name, Path: p, Kind: KindPluginDir}, nil, nil
		}
		searched = append(searched, p)
	}
	return Location{}, searched, nil
}

// StrategyOfFile names the configured strategy whose module is path
// (strategies.<name>.file, or where Resolve finds it), so a file checked on
// its own is checked under that strategy's limits; false when none is.
func StrategyOfFile(cfg *config.Config, path string) (string, bool) {
	want, err := filepath.Abs(path)
	if err != nil {
		return "", false
	}
	for _, name := range cfg.Discovery.Order {
		if loc, err := Resolve(cfg, name); err == nil {
			if got, err := filepath.Abs(loc.Path); err == nil && got == want {
				return name, true
			}
		}
	}
	return "", false
}

// BuiltinDir is where the agent looks for its shipped strategies.
func BuiltinDir(cfg *config.Config) string {
	if cfg.BuiltinDir != "" {
		return cfg.BuiltinDir
	}
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	dir := filepath.Dir(exe)
	lib := filepath.Join(dir, "..", "lib", "fence_gfs2_recorder", "plugins")
	if fi, err := os.Stat(lib); err == nil && fi.IsDir() {
		return filepath.Clean(lib)
	}
	return filepath.Join(dir, "plugins")
}

// checkStrategyName keeps names usable as file names and log fields: a
// name is never a path.
func checkStrategyName(name string) error {
	if name == "" || len(name) > 64 || name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("invalid strategy name %q: want 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("invalid strategy name %q: want 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'", name)
		}
	}
	return nil
}

// ReadModule reads a .wasm after checking that nobody but root or the
// agent's user could have changed it: the agent runs as root on the fence
// path, so a module, or any directory on the way to it, writable by group or
// others would let them choose what runs there. The file is opened without
// blocking and checked to be a regular file before anything is read, so a
// FIFO in its place is an error, not a hang.
func ReadModule(path string) ([]byte, error) {
	real, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("module %s does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", path, err)
	}
	// Both the path named in the configuration (its symlinks included) and
	// the one the file really is at: whoever can rewrite either can swap it.
	// Without a symlink they are one path, checked once.
	paths := []string{path}
	if real != path {
		paths = append(paths, real)
	}
	for _, p := range paths {
		if err := checkChain(p); err != nil {
			return nil, fmt.Errorf("refusing %s: %w", path, err)
		}
	}
	f, fi, err := openRegular(real)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > maxModuleBytes {
		return nil, fmt.Errorf("refusing %s: %d bytes is over the %d MiB module limit", real, fi.Size(), maxModuleBytes>>20)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxModuleBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxModuleBytes {
		return nil, errors.New("module grew past the size limit while being read")
	}
	return b, nil
}
