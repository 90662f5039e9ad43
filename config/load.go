package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Source labels of the fixed layers.
const (
	SourceDefault = "default"
	SourceArgv    = "argv"
	SourceStdin   = "stdin"
)

// MaxFileSize bounds the YAML file: a config is a few KiB, anything
// larger is a mistake (a log given as --config) that must not slow a fence.
const MaxFileSize = 1 << 20

// defaultFile is DefaultFile; a variable only so tests do not depend on
// what this machine has in /etc.
var defaultFile = DefaultFile

// LoadOptions says where Load finds each layer.
type LoadOptions struct {
	// File is the YAML file from --config or config_file. "" means
	// $FENCE_GFS2_RECORDER_CONFIG, else DefaultFile. A missing DefaultFile
	// is fine; a missing file that was asked for is an error.
	File string
	// Environ is the environment (os.Environ()); Load never reads the
	// process environment itself, so tests pass their own.
	Environ []string
	// Overrides is the option layer, by key ("log_dir",
	// "discovery.enabled", "commands.kubectl.path", ...). Values are
	// strings as a user typed them, or bools.
	Overrides map[string]any
	// OverrideLayer labels the option layer: "argv" or "stdin".
	OverrideLayer string
	// DiscardInvalid: a bad key of the file or the environment is dropped
	// and reported instead of failing the whole load (see Load).
	DiscardInvalid bool
}

// Loaded is the effective configuration and where each value came from.
type Loaded struct {
	Config Config
	// Sources maps every leaf key of Config (as Print lists them) to
	// "default", "file:<path>", "env:<NAME>", "argv" or "stdin".
	Sources map[string]string
	// File is the YAML file that was read, "" if none.
	File string
	// Warnings are facts worth logging that do not make the config
	// invalid, e.g. a command name that PATH did not resolve.
	Warnings []string
}

// layer is one koanf instance and the source label of each of its keys.
type layer struct {
	k      *koanf.Koanf
	source func(key string) string
	option bool // the option layer (argv or stdin)
}

func fixed(label string) func(string) string { return func(string) string { return label } }

// Load merges the layers (lowest first: Defaults(), the YAML file, the
// environment, the option layer), decodes and validates the result. Every
// error names the key and the layer its value came from.
//
// With DiscardInvalid, a bad key of the file or the environment is
// dropped from its layer (the lower layers' value holds) and the rest is
// used: Load returns the configuration and the problems together. It
// still fails as a whole when the file does not parse, or when a value of
// the option layer is bad (the caller has its own fallback for that).
func Load(opts LoadOptions) (*Loaded, error) {
	environ, envMap := dedupEnviron(opts.Environ)
	layers, file, envWarnings, err := readLayers(opts, environ, envMap)
	if err != nil {
		return nil, err
	}
	var discarded Errors
	for pass := 0; ; pass++ {
		loaded, probs, err := build(layers, envMap, opts.OverrideLayer, envWarnings)
		if err != nil {
			return nil, err
		}
		if probs == nil {
			loaded.File = file
			if discarded != nil {
				return loaded, discarded.sorted()
			}
			return loaded, nil
		}
		discarded = discarded.union(probs)
		if !opts.DiscardInvalid || pass == maxDiscardPasses || !discardKeys(layers, probs) {
			return nil, discarded.sorted()
		}
	}
}

// maxDiscardPasses bounds the re-decoding: dropping a key can only bring
// back a lower layer's value, so a few passes reach a valid configuration
// or a problem no layer can be blamed for.
const maxDiscardPasses = 8

// build merges, decodes and validates the layers once.
// envWarnings are the environment values ignored while reading the layers.
func build(layers []layer, envMap map[string]string, optionLayer string, envWarnings []string) (*Loaded, Errors, error) {
	flat, sources, err := mergeLayers(layers)
	if err != nil {
		return nil, nil, err
	}
	p := &problems{source: sources.ofSection}
	d := decoder{p: p}
	cfg := d.decode(flat)
	warnings := append(slices.Clone(envWarnings), resolveCommands(&cfg, envMap)...)
	if cfg.Discovery.Enabled && len(cfg.Discovery.Order) == 0 {
		warnings = append(warnings, `discovery.order is empty: every fence records ["none-detected"]; set discovery.enabled=false to say so on purpose`)
	}
	cfg.validate(p)
	checkStdinPaths(&cfg, sources, p)
	if len(p.list) > 0 {
		return nil, p.list, nil
	}
	loaded := &Loaded{Config: cfg, Sources: map[string]string{}, Warnings: warnings}
	for _, lf := range leaves(&cfg) {
		loaded.Sources[lf.key] = sources.of(lf.key)
	}
	return loaded, nil, nil
}

// discardKeys deletes each problem's key from the highest layer that
// holds it (or holds keys under it). It reports false when a problem
// cannot be blamed on the file or the environment: a default, or a value
// of the option layer (the last layer when there is one).
func discardKeys(layers []layer, probs Errors) bool {
	for _, pr := range probs {
		i := highestLayerWith(layers, pr.Key)
		if i <= 0 || layers[i].option {
			return false
		}
		layers[i].k.Delete(pr.Key)
	}
	return true
}

func highestLayerWith(layers []layer, key string) int {
	for i := len(layers) - 1; i > 0; i-- {
		k := layers[i].k
		if k.Exists(key) {
			return i
		}
		for _, have := range k.Keys() {
			if strings.HasPrefix(have, key+".") {
				return i
			}
		}
	}
	return -1
}

// readLayers loads each layer into its own koanf instance, lowest first.
// file is the YAML file read, "" if none.
func readLayers(opts LoadOptions, environ []string, envMap map[string]string) (layers []layer, file string, warnings []string, err error) {
	defaults := koanf.New(".")
	if err := defaults.Load(mapProvider(toMap(Defaults())), nil); err != nil {
		return nil, "", nil, fmt.Errorf("config defaults: %w", err)
	}
	layers = []layer{{k: defaults, source: fixed(SourceDefault)}}

	path, explicit := opts.File, opts.File != ""
	if path == "" {
		path, explicit = envMap[EnvConfigFile], envMap[EnvConfigFile] != ""
	}
	if path == "" {
		path = defaultFile
	}
	if opts.File != "" && opts.OverrideLayer == SourceStdin {
		if err := CheckStdinConfigFile(opts.File); err != nil {
			return nil, "", nil, err
		}
	}
	fileK, err := loadFile(path, explicit)
	if err != nil {
		return nil, "", nil, err
	}
	if fileK != nil {
		file = path
		layers = append(layers, layer{k: fileK, source: fixed("file:" + path)})
	}

	envLayers, warnings, err := loadEnv(environ, layers)
	if err != nil {
		return nil, "", nil, err
	}
	layers = append(layers, envLayers...)

	if len(opts.Overrides) > 0 {
		label := opts.OverrideLayer
		if label == "" {
			label = "option"
		}
		k := koanf.New(".")
		if err := k.Load(confmap.Provider(opts.Overrides, "."), nil); err != nil {
			return nil, "", nil, fmt.Errorf("config %s options: %w", label, err)
		}
		splitCommandLines(k, nil)
		layers = append(layers, layer{k, fixed(label), true})
	}
	return layers, file, warnings, nil
}

// mergeLayers merges the layers with koanf (maps key by key; leaves and
// lists replaced) and notes for every key the highest layer holding it,
// which is where its value came from. layers[0] must be the defaults.
func mergeLayers(layers []layer) (map[string]any, provenance, error) {
	sources := provenance{}
	merged := koanf.New(".")
	// The defaults are the largest layer: give merged its own fresh copy
	// instead of paying koanf's reflective deep copy for it.
	if err := merged.Load(mapProvider(toMap(Defaults())), nil); err != nil {
		return nil, nil, fmt.Errorf("config defaults: %w", err)
	}
	for i, l := range layers {
		keys := l.k.Keys()
		if len(keys) == 0 {
			continue // an empty layer would still cost a deep copy
		}
		for _, key := range keys {
			sources[key] = l.source(key)
		}
		if i == 0 {
			continue
		}
		if err := merged.Merge(l.k); err != nil {
			return nil, nil, fmt.Errorf("config merge: %w", err)
		}
	}
	return merged.All(), sources, nil
}

// provenance maps a flattened key to the label of its layer.
type provenance map[string]string

// of is the layer of a leaf; keys no layer set (the defaults a new
// section inherits) are defaults.
func (pv provenance) of(key string) string {
	if s, ok := pv[key]; ok {
		return s
	}
	return SourceDefault
}

// ofSection also names the layer of a section ("commands.x"): the one
// that set the first key under it, other than the defaults.
func (pv provenance) ofSection(key string) string {
	if s, ok := pv[key]; ok {
		return s
	}
	best := ""
	for k, s := range pv {
		if strings.HasPrefix(k, key+".") && s != SourceDefault && (best == "" || k < best) {
			best = k
		}
	}
	if best != "" {
		return pv[best]
	}
	return SourceDefault
}

// loadFile reads the YAML layer; nil without error when the default file
// is absent.
func loadFile(path string, explicit bool) (*koanf.Koanf, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		return nil, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("config file %s: does not exist", path)
	case err != nil:
		return nil, fmt.Errorf("config file %s: %w", path, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("config file %s: not a regular file", path)
	case fi.Size() > MaxFileSize:
		return nil, fmt.Errorf("config file %s: %d bytes, more than the %d a config can be", path, fi.Size(), MaxFileSize)
	}
	k := koanf.New(".")
	if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return k, nil
}

// loadEnv builds the two environment layers: the reference agent's names,
// then the FENCE_GFS2_RECORDER_ names, which win.
func loadEnv(environ []string, lower []layer) ([]layer, []string, error) {
	var warnings []string
	var commands, strategies []string
	for _, l := range lower {
		for _, key := range l.k.Keys() {
			parts := strings.SplitN(key, ".", 3)
			if len(parts) < 2 {
				continue
			}
			switch parts[0] {
			case "commands":
				commands = append(commands, parts[1])
			case "strategies":
				strategies = append(strategies, parts[1])
			}
		}
	}
	environFunc := func() []string { return environ }

	legacySrc := map[string]string{}
	legacy := koanf.New(".")
	err := legacy.Load(env.Provider(".", env.Opt{
		EnvironFunc: environFunc,
		TransformFunc: func(name, value string) (string, any) {
			key, ok := legacyEnv[name]
			if sk, storage := storageEnv[name]; storage && value != "" {
				if msg := checkStorageEnv(sk, value); msg != "" {
					warnings = append(warnings, fmt.Sprintf("environment %s ignored: %s; using the configured or default %s", name, msg, sk))
					return "", nil
				}
				key, ok = sk, true
			}
			if !ok || value == "" {
				return "", nil
			}
			legacySrc[key] = "env:" + name
			return key, value
		},
	}), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("config environment: %w", err)
	}
	splitCommandLines(legacy, legacySrc)

	prefixedSrc := map[string]string{}
	prefixed := koanf.New(".")
	err = prefixed.Load(env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: environFunc,
		TransformFunc: func(name, value string) (string, any) {
			rest := strings.TrimPrefix(name, EnvPrefix)
			if name == EnvConfigFile || rest == "" {
				return "", nil
			}
			key := envKey(rest, commands, strategies)
			prefixedSrc[key] = "env:" + name
			return key, value
		},
	}), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("config environment: %w", err)
	}
	splitCommandLines(prefixed, prefixedSrc)

	lookup := func(src map[string]string) func(string) string {
		return func(key string) string { return src[key] }
	}
	return []layer{{k: legacy, source: lookup(legacySrc)}, {k: prefixed, source: lookup(prefixedSrc)}}, warnings, nil
}

// splitCommandLines turns a command line typed into the environment or an
// option ("/usr/local/bin/kubectl --kubeconfig /x", as KUBECTL_CMD was in
// the reference agent) into path and args. Words are split on blanks, with
// no shell quoting; a single word leaves args from lower layers alone.
// src, when not nil, gets the args key labelled like the path key.
func splitCommandLines(k *koanf.Koanf, src map[string]string) {
	for _, key := range k.Keys() {
		parts := strings.Split(key, ".")
		if len(parts) != 3 || parts[0] != "commands" || parts[2] != "path" {
			continue
		}
		s, ok := k.Get(key).(string)
		if !ok {
			continue
		}
		words := strings.Fields(s)
		if len(words) < 2 {
			if len(words) == 1 {
				_ = k.Set(key, words[0])
			}
			continue
		}
		argsKey := "commands." + parts[1] + ".args"
		_ = k.Set(key, words[0])
		_ = k.Set(argsKey, words[1:])
		if src != nil {
			src[argsKey] = src[key]
		}
	}
}

// mapProvider hands koanf a map built here, without the deep copy
// confmap makes.
type mapProvider map[string]any

func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("mapProvider does not read bytes")
}
func (m mapProvider) Read() (map[string]any, error) { return m, nil }
