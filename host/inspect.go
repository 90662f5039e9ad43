package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
)

// ModuleStatus is what the admin commands report about one strategy module.
type ModuleStatus struct {
	Name        string        `json:"name"`
	Path        string        `json:"path,omitempty"`
	Kind        string        `json:"kind,omitempty"` // file, builtin or plugin-dir
	ABI         int           `json:"abi,omitempty"`  // what fgr_abi_version answered
	GuestName   string        `json:"guest_name,omitempty"`
	Strategies  []string      `json:"strategies,omitempty"` // what the module serves (fgr_info)
	SDK         string        `json:"sdk,omitempty"`
	CompileTime time.Duration `json:"compile_time"`     // of the module; a cache hit is mostly validation
	Shared      bool          `json:"shared,omitempty"` // loaded already for an earlier strategy of this report
	Needs       [][]string    `json:"needs,omitempty"`  // commands it declares (fgr_info), alternatives together
	Err         error         `json:"-"`                // nil: verified
}

// Verified says whether the module passed every load-time check.
func (m ModuleStatus) Verified() bool { return m.Err == nil }

// Inspect resolves, checks, compiles and instantiates every strategy in the
// configured order, exactly as the fence path would (strategies served by
// one module load it once), and reports each. It uses (and so warms) the
// compile cache. Strategies are not run.
func Inspect(ctx context.Context, cfg *config.Config, logger *slog.Logger) []ModuleStatus {
	src := NewSource(cfg, logger)
	defer src.Close(context.WithoutCancel(ctx))
	return src.inspectAll(ctx)
}

// warmCompileWait bounds `plugins warm`'s wait for one compile; the compile
// child's own CPU limit ends it sooner if it is stuck.
const warmCompileWait = 10 * time.Minute

func (src *Source) inspectAll(ctx context.Context) []ModuleStatus {
	cfg := src.cfg
	out := make([]ModuleStatus, 0, len(cfg.Discovery.Order))
	seen := map[*module]bool{}
	for _, name := range cfg.Discovery.Order {
		loc, err := Resolve(cfg, name)
		if err != nil {
			out = append(out, ModuleStatus{Name: name, Err: err})
			continue
		}
		out = append(out, src.inspect(ctx, loc, seen))
	}
	return out
}

// InspectFile checks one module file as strategy name would load it; when
// name is not configured but the file is some strategy's module, as that
// strategy (its memory limit and timeout).
func InspectFile(ctx context.Context, cfg *config.Config, name, path string) ModuleStatus {
	if _, ok := cfg.Strategies[name]; !ok {
		if configured, ok := StrategyOfFile(cfg, path); ok {
			name = configured
		}
	}
	src := NewSource(cfg, nil)
	defer src.Close(context.WithoutCancel(ctx))
	return src.inspect(ctx, Location{Name: name, Path: path, Kind: KindFile}, map[*module]bool{})
}

// inspect loads loc's strategy and asks its module what it is. seen marks
// modules already reported, so a shared one is reported as such.
func (s *Source) inspect(ctx context.Context, loc Location, seen map[*module]bool) ModuleStatus {
	ms := ModuleStatus{Name: loc.Name, Path: loc.Path, Kind: loc.Kind}
	st, err := s.strategyAt(ctx, loc)
	if err != nil {
		var aerr *abiError
		if errors.As(err, &aerr) {
			ms.ABI = int(aerr.got)
		}
		ms.Err = err
		return ms
	}
	m := st.mod
	ms.ABI, ms.CompileTime, ms.Shared = ABIVersion, m.compileTime, seen[m]
	seen[m] = true
	ictx, cancel := context.WithTimeout(ctx, st.timeout())
	defer cancel()
	ictx = withCallState(ictx, &callState{strategy: loc.Name, logger: s.logger})
	m.mu.Lock()
	info, err := m.describe(ictx)
	m.mu.Unlock()
	if err == nil {
		err = info.serves(loc.Name)
	}
	if err != nil {
		ms.Err = fmt.Errorf("%s: %w", loc.Path, err)
		return ms
	}
	ms.GuestName, ms.Strategies, ms.SDK = info.Name, info.Strategies, info.SDK
	ms.Needs = info.needsOf(loc.Name)
	if err := missingGrants(s.cfg, loc.Name, ms.Needs); err != nil {
		ms.Err = err
	}
	return ms
}

// needsOf is what the module declares strategy name needs. A module serving
// one strategy serves it under any configured name, so its one entry counts.
func (info moduleInfo) needsOf(name string) [][]string {
	if needs, ok := info.Commands[name]; ok {
		return needs
	}
	if len(info.Strategies) <= 1 && len(info.Commands) == 1 {
		for _, needs := range info.Commands {
			return needs
		}
	}
	return nil
}

// MissingGrantError is a strategy that declares a command its configuration
// does not let it run: every fence would find it denied.
type MissingGrantError struct {
	Strategy string
	OneOf    []string // the declared need: any one of these commands
	Why      string   // what the configuration lacks
}

func (e *MissingGrantError) Error() string {
	what := "command " + e.OneOf[0]
	if len(e.OneOf) > 1 {
		what = "one of the commands " + strings.Join(e.OneOf, ", ")
	}
	return "strategy " + e.Strategy + " needs " + what + ", but " + e.Why
}

// missingGrants checks each declared need against strategies.<name>.allow
// and commands.<cmd>: a need is met when one of its commands is both
// granted and defined.
func missingGrants(cfg *config.Config, name string, needs [][]string) error {
	allow := cfg.Strategies[name].Allow
	var errs []error
	for _, oneOf := range needs {
		if len(oneOf) == 0 {
			continue
		}
		var granted []string
		met := false
		for _, c := range oneOf {
			if !slices.Contains(allow, c) {
				continue
			}
			granted = append(granted, c)
			if cmd, ok := cfg.Commands[c]; ok && cmd.Path != "" {
				met = true
				break
			}
		}
		if met {
			continue
		}
		why := fmt.Sprintf("strategies.%s.allow does not grant it (allow: [%s])", name, strings.Join(allow, ", "))
		if len(granted) > 0 {
			why = fmt.Sprintf("commands.%s.path is not configured", granted[0])
		}
		errs = append(errs, &MissingGrantError{Strategy: name, OneOf: oneOf, Why: why})
	}
	return errors.Join(errs...)
}

// Verify checks every configured strategy (for the monitor action): nil
// when all load, else one error naming each that does not.
func Verify(ctx context.Context, cfg *config.Config) error {
	var errs []error
	for _, ms := range Inspect(ctx, cfg, nil) {
		if ms.Err != nil {
			errs = append(errs, fmt.Errorf("strategy %s: %w", ms.Name, ms.Err))
		}
	}
	return errors.Join(errs...)
}

// Warm compiles every configured strategy into the compile cache, so the
// first fence after an install or upgrade pays a cache hit (~20 ms per
// module) instead of a compile (~0.5-1 s). It fails when there is no usable
// cache directory, since warming would then achieve nothing.
func Warm(ctx context.Context, cfg *config.Config) ([]ModuleStatus, error) {
	if cfg.CacheDir == "" {
		return nil, errors.New("cache_dir is empty: there is no compile cache to warm")
	}
	if err := checkCacheDir(cfg.CacheDir); err != nil {
		return nil, fmt.Errorf("cache_dir unusable: %w", err)
	}
	src := NewSource(cfg, nil)
	defer src.Close(context.WithoutCancel(ctx))
	src.eng.compileWait = warmCompileWait
	st := src.inspectAll(ctx)
	var errs []error
	for _, ms := range st {
		if ms.Err != nil {
			errs = append(errs, fmt.Errorf("strategy %s: %w", ms.Name, ms.Err))
		}
	}
	return st, errors.Join(errs...)
}
