package host

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
)

// Guests are built from source for every test run (nothing compiled is
// committed): Go guests with the real toolchain, WAT guests with wat2wasm.
var (
	guestDir    string // the built .wasm files
	sharedCache string // one compile cache for the package: compile once, hit after
	haveWAT     bool
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode)) // a child of BenchmarkRunaway
	}
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "host tests: setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	tmp, err := os.MkdirTemp("", "host-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	guestDir = filepath.Join(tmp, "guests")
	sharedCache = filepath.Join(tmp, "cache")
	if err := os.Mkdir(guestDir, 0o755); err != nil {
		return 0, err
	}
	for _, g := range []string{"tester", "empty", "bare", "multi"} {
		if err := buildGoGuest("./testdata/guests/"+g, filepath.Join(guestDir, g+".wasm")); err != nil {
			return 0, err
		}
	}
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		fmt.Fprintln(os.Stderr, "!!! host tests: wat2wasm (Debian package wabt) is not installed: the WAT guest tests are SKIPPED !!!")
	} else {
		wats, _ := filepath.Glob("testdata/wat/*.wat")
		for _, w := range wats {
			out := filepath.Join(guestDir, strings.TrimSuffix(filepath.Base(w), ".wat")+".wasm")
			if b, err := exec.Command("wat2wasm", w, "-o", out).CombinedOutput(); err != nil {
				return 0, fmt.Errorf("wat2wasm %s: %v\n%s", w, err, b)
			}
			if err := os.Chmod(out, 0o644); err != nil {
				return 0, err
			}
		}
		haveWAT = true
	}
	if err := warmGuests(); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// seededCache is a cache directory of a test's own holding the compiled
// guests of the shared one.
func seededCache(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cache")
	require.NoError(t, os.Mkdir(dir, 0o700))
	out, err := exec.Command("cp", "-a", filepath.Join(sharedCache, "modules"), dir).CombinedOutput()
	require.NoError(t, err, string(out))
	return dir
}

// warmGuests compiles every built guest into the shared cache with no
// time bound, so that tests measure what they test and not a cold compile
// on a loaded machine (a fence's compile is bounded by the strategy timeout).
func warmGuests() error {
	wasms, _ := filepath.Glob(filepath.Join(guestDir, "*.wasm"))
	e := newEngine(sharedCache, slog.New(slog.DiscardHandler))
	defer e.close(context.Background())
	for _, w := range wasms {
		// Guests that do not compile, or fail the ABI checks, are what
		// some tests are about: warm what compiles.
		_, _ = e.compile(context.Background(), Location{Name: "warm", Path: w, Kind: KindFile}, config.DefaultMemoryLimit, time.Hour, checkShape)
	}
	return nil
}

func buildGoGuest(pkg, out string) error {
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %v\n%s", pkg, err, b)
	}
	// The host refuses group/world-writable modules; do not depend on umask.
	return os.Chmod(out, 0o644)
}

func guest(name string) string { return filepath.Join(guestDir, name+".wasm") }

func needWAT(t *testing.T) {
	t.Helper()
	if !haveWAT {
		t.Skip("!!! wat2wasm not installed (apt-get install wabt): WAT guest test skipped !!!")
	}
}

// testConfig is the defaults with nothing reachable by accident: no
// built-in or site modules, the shared compile cache, and only the commands
// and strategies a test adds.
func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.CacheDir = sharedCache
	cfg.BuiltinDir = filepath.Join(t.TempDir(), "builtin")
	cfg.PluginDir = filepath.Join(t.TempDir(), "plugins.d")
	cfg.Commands = map[string]config.Command{}
	cfg.Strategies = map[string]config.Strategy{}
	cfg.Discovery.Order = nil
	// Only tests about the budget set one: a cold compile under the race
	// detector alone can take longer than the 15 s default.
	cfg.Discovery.Budget = 0
	return &cfg
}

// addStrategy configures a strategy that loads file with the given guest
// config, appends it to the chain order and returns a pointer-free copy.
func addStrategy(cfg *config.Config, name, file string, guestCfg map[string]any, allow ...string) {
	cfg.Strategies[name] = config.Strategy{File: file, Timeout: 5 * time.Second,
		MemoryLimit: config.DefaultMemoryLimit, Allow: allow, Config: guestCfg}
	cfg.Discovery.Order = append(cfg.Discovery.Order, name)
}

func setStrategy(cfg *config.Config, name string, edit func(*config.Strategy)) {
	st := cfg.Strategies[name]
	edit(&st)
	cfg.Strategies[name] = st
}

// logRecorder keeps every slog record for assertions.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r.Clone())
	h.mu.Unlock()
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

func (h *logRecorder) find(msgPart string) (slog.Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		if strings.Contains(r.Message, msgPart) {
			return r, true
		}
	}
	return slog.Record{}, false
}

func (h *logRecorder) all() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.recs)
}

func attrOf(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// runChain runs the configured order through the real discovery chain.
func runChain(t *testing.T, cfg *config.Config, node string, logger *slog.Logger) discovery.Report {
	t.Helper()
	src := NewSource(cfg, logger)
	t.Cleanup(func() { _ = src.Close(context.Background()) })
	return discovery.Run(context.Background(), src, cfg.Discovery.Order,
		discovery.NewTarget(node, "reboot"), discovery.Options{Budget: cfg.Discovery.Budget})
}

func outcomes(rep discovery.Report) []discovery.Outcome {
	out := make([]discovery.Outcome, len(rep.Attempts))
	for i, a := range rep.Attempts {
		out[i] = a.Outcome
	}
	return out
}

// copyOf copies a built guest to a file of its own, so that a strategy
// loading it does not share the original's module.
func copyOf(t *testing.T, file string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), filepath.Base(file))
	copyFile(t, file, p, 0o644)
	return p
}

// loadOf returns the module load of strategy name, if one was started.
func (s *Source) loadOf(t *testing.T, name string) (*loading, bool) {
	t.Helper()
	loc, err := Resolve(s.cfg, name)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.loads[moduleKey{loc.Path, pagesFor(s.settings(name).MemoryLimit)}]
	return l, ok
}
