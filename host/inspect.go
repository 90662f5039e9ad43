package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/host/execcap"
)

// ModuleStatus is what the admin commands report about one strategy module.
type ModuleStatus struct {
	Name        string        `json:"name"`
	Path        string        `json:"path,omitempty"`
	Kind        string        `json:"kind,omitempty"` // file, builtin or plugin-dir
	ABI         int           `json:"abi,omitempty"`  // what fgr_abi_version answered
	GuestName   string        `json:"guest_name,omitempty"`
	SDK         string        `json:"sdk,omitempty"`
	CompileTime time.Duration `json:"compile_time"` // a cache hit is mostly validation
	Err         error         `json:"-"`            // nil: verified
}

// Verified says whether the module passed every load-time check.
func (m ModuleStatus) Verified() bool { return m.Err == nil }

// Inspect resolves, checks, compiles and instantiates every strategy in the
// configured order, exactly as the fence path would, and reports each. It
// uses (and so warms) the compile cache. Strategies are not run.
func Inspect(ctx context.Context, cfg *config.Config, logger *slog.Logger) []ModuleStatus {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	eng := newEngine(cfg.CacheDir, logger)
	defer eng.close(context.WithoutCancel(ctx))
	out := make([]ModuleStatus, 0, len(cfg.Discovery.Order))
	for _, name := range cfg.Discovery.Order {
		loc, err := Resolve(cfg, name)
		if err != nil {
			out = append(out, ModuleStatus{Name: name, Err: err})
			continue
		}
		out = append(out, inspectOne(ctx, cfg, eng, loc))
	}
	return out
}

// InspectFile checks one module file as strategy name would load it.
func InspectFile(ctx context.Context, cfg *config.Config, name, path string) ModuleStatus {
	eng := newEngine(cfg.CacheDir, slog.New(slog.DiscardHandler))
	defer eng.close(context.WithoutCancel(ctx))
	return inspectOne(ctx, cfg, eng, Location{Name: name, Path: path, Kind: KindFile})
}

func inspectOne(ctx context.Context, cfg *config.Config, eng *engine, loc Location) ModuleStatus {
	ms := ModuleStatus{Name: loc.Name, Path: loc.Path, Kind: loc.Kind}
	settings := cfg.Strategies[loc.Name]
	cm, rt, took, err := eng.compile(ctx, loc, settings.MemoryLimit)
	ms.CompileTime = took
	if err != nil {
		ms.Err = err
		return ms
	}
	st := &strategy{name: loc.Name, loc: loc, settings: settings, grants: execcap.NewGrants(cfg, loc.Name),
		logger: slog.New(slog.DiscardHandler), rt: rt, compiled: cm,
		stdout: &cappedWriter{max: maxGuestOutput}, stderr: &cappedWriter{max: maxGuestOutput}}
	ictx, cancel := context.WithTimeout(ctx, st.timeout())
	defer cancel()
	ictx = withCallState(ictx, &callState{strategy: loc.Name, logger: st.logger})
	st.mu.Lock()
	defer st.mu.Unlock()
	err = st.instantiate(ictx)
	var aerr *abiError
	switch {
	case errors.As(err, &aerr):
		ms.ABI = int(aerr.got)
		ms.Err = fmt.Errorf("%s: %w", loc.Path, err)
		return ms
	case err != nil:
		_, why := st.classify(ctx, ictx, err)
		ms.Err = fmt.Errorf("%s: %s", loc.Path, why)
		return ms
	}
	defer st.closeInstance(ctx)
	ms.ABI = ABIVersion
	if fn := st.inst.ExportedFunction(exportInfo); fn != nil {
		res, err := fn.Call(ictx)
		if err != nil {
			ms.Err = fmt.Errorf("%s: fgr_info failed: %v", loc.Path, err)
			return ms
		}
		raw, err := readPacked(st.inst, res[0], maxInfoBytes, exportInfo)
		if err != nil {
			ms.Err = fmt.Errorf("%s: %w", loc.Path, err)
			return ms
		}
		var info struct {
			Name string `json:"name"`
			SDK  string `json:"sdk"`
		}
		if err := json.Unmarshal(raw, &info); err != nil {
			ms.Err = fmt.Errorf("%s: fgr_info answered invalid JSON: %v", loc.Path, err)
			return ms
		}
		ms.GuestName, ms.SDK = info.Name, info.SDK
	}
	return ms
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
	st := Inspect(ctx, cfg, nil)
	var errs []error
	for _, ms := range st {
		if ms.Err != nil {
			errs = append(errs, fmt.Errorf("strategy %s: %w", ms.Name, ms.Err))
		}
	}
	return st, errors.Join(errs...)
}
