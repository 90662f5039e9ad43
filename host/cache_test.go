package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/tmpfstest"
)

// entryFiles are the compiled-code files wazero wrote for wasm under a
// cache dir.
func entryFiles(t *testing.T, cacheDir, wasm string) []string {
	t.Helper()
	bin, err := os.ReadFile(wasm)
	require.NoError(t, err)
	sum := sha256.Sum256(bin)
	var out []string
	require.NoError(t, filepath.WalkDir(filepath.Join(cacheDir, "modules", hex.EncodeToString(sum[:16])), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != completeMarker && !strings.HasSuffix(p, ".lock") {
			out = append(out, p)
		}
		return err
	}))
	return out
}

// A compile-cache entry that does not load (flipped bytes, truncated,
// empty) is evicted and the module compiled again: the fence answers, and
// the one after it is warm.
func TestBadCacheEntryIsEvictedAndRecompiled(t *testing.T) {
	damage := map[string]func(b []byte) []byte{
		"flipped bytes": func(b []byte) []byte {
			for i := len(b) / 2; i < len(b)/2+64 && i < len(b); i++ {
				b[i] ^= 0xff
			}
			return b
		},
		"truncated": func(b []byte) []byte { return b[:len(b)/3] },
		"empty":     func([]byte) []byte { return nil },
	}
	for name, hurt := range damage {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.CacheDir = seededCache(t)
			addStrategy(cfg, "t", guest("tester"), map[string]any{"filesystems": []any{"a/b"}})
			setStrategy(cfg, "t", func(s *config.Strategy) { s.Timeout = 2 * time.Minute }) // a cold compile on a loaded machine
			files := entryFiles(t, cfg.CacheDir, guest("tester"))
			require.NotEmpty(t, files)
			for _, f := range files {
				b, err := os.ReadFile(f)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(f, hurt(b), 0o600))
			}
			rec := &logRecorder{}

			rep := runChain(t, cfg, "n", slog.New(rec))

			require.Equal(t, discovery.OutcomeFound, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
			r, ok := rec.find("compile cache entry does not load: evicted")
			require.True(t, ok, "the eviction is logged")
			assert.NotContains(t, attrOf(r, "reason"), "\x00")

			rec2 := &logRecorder{}
			rep = runChain(t, cfg, "n", slog.New(rec2))
			require.Equal(t, discovery.OutcomeFound, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
			_, compiled := rec2.find("compiling the module in a child process")
			assert.False(t, compiled, "the next fence loads the rebuilt entry")
		})
	}
}

// An entry another user could have written is not loaded: it is evicted and
// rebuilt.
func TestCacheEntryOthersCouldWriteIsEvicted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	for name, spoil := range map[string]func(f string) error{
		"owned by another user":     func(f string) error { return os.Chown(f, 65534, 65534) },
		"world-writable directory":  func(f string) error { return os.Chmod(filepath.Dir(f), 0o777) },
		"symlink in place of entry": func(f string) error { os.Remove(f); return os.Symlink("/etc/passwd", f) },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.CacheDir = seededCache(t)
			addStrategy(cfg, "t", guest("tester"), map[string]any{"filesystems": []any{"a/b"}})
			setStrategy(cfg, "t", func(s *config.Strategy) { s.Timeout = 2 * time.Minute })
			files := entryFiles(t, cfg.CacheDir, guest("tester"))
			require.NotEmpty(t, files)
			require.NoError(t, spoil(files[0]))
			rec := &logRecorder{}

			rep := runChain(t, cfg, "n", slog.New(rec))

			require.Equal(t, discovery.OutcomeFound, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
			_, ok := rec.find("compile cache entry unusable: evicted")
			assert.True(t, ok)
			for _, f := range entryFiles(t, cfg.CacheDir, guest("tester")) {
				fi, err := os.Lstat(f)
				require.NoError(t, err)
				assert.True(t, fi.Mode().IsRegular(), f)
				assert.Equal(t, uint32(0), fi.Sys().(*syscall.Stat_t).Uid, f)
			}
		})
	}
}

// With the disk under the cache full, the module is compiled in memory and
// the attempt says so.
func TestFullDiskUnderTheCacheCompilesInMemory(t *testing.T) {
	mnt := tmpfstest.Mount(t, "16k", "0700")
	cfg := testConfig(t)
	cfg.CacheDir = filepath.Join(mnt, "cache")
	addStrategy(cfg, "t", guest("tester"), map[string]any{"filesystems": []any{"a/b"}})
	setStrategy(cfg, "t", func(s *config.Strategy) { s.Timeout = 2 * time.Minute })

	rep := runChain(t, cfg, "n", nil)

	a := rep.Attempts[0]
	require.Equal(t, discovery.OutcomeFound, a.Outcome, a.Error)
	note, _ := a.Details["compile_cache"].(string)
	assert.Contains(t, note, "the compile cache could not be written")
	assert.Contains(t, note, "compiled in memory")
}

// A storm on a cold cache compiles the module once: one agent's child
// compiles under the entry's lock, the others wait and load what it wrote.
func TestColdCacheStormCompilesOnce(t *testing.T) {
	const agents = 6
	cacheDir := filepath.Join(t.TempDir(), "cache")
	rec := &logRecorder{}
	var wg sync.WaitGroup
	reps := make([]discovery.Report, agents)
	for i := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := testConfig(t)
			cfg.CacheDir = cacheDir
			addStrategy(cfg, "t", guest("multi"), nil)
			setStrategy(cfg, "t", func(s *config.Strategy) { s.Timeout = 2 * time.Minute })
			reps[i] = runChain(t, cfg, "n", slog.New(rec))
		}()
	}
	wg.Wait()
	for i, rep := range reps {
		assert.NotEqual(t, discovery.OutcomeLoadError, rep.Attempts[0].Outcome, "agent %d: %s", i, rep.Attempts[0].Error)
	}
	n := 0
	for _, r := range rec.all() {
		if r.Message == "compiling the module in a child process" {
			n++
		}
	}
	assert.Equal(t, 1, n, "compiles for %d agents", agents)
}

// heavyGuest writes an ABI guest with one long function: a few seconds of
// compile for wazero's optimizing compiler, hundreds of MB.
func heavyGuest(t *testing.T, lines int) string {
	t.Helper()
	needWAT(t)
	var b strings.Builder
	b.WriteString(`(module (memory (export "memory") 1)
  (data (i32.const 1024) "{\"filesystems\":[\"heavy/fs\"]}")
  (func (export "fgr_abi_version") (result i32) (i32.const 1))
  (func (export "fgr_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "fgr_discover") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 28)))
  (func (export "heavy") (param $b i32) (result i32) (local $a i32)
`)
	for i := range lines {
		fmt.Fprintf(&b, "    (local.set $a (i32.add (local.get $a) (i32.mul (local.get $b) (i32.const %d))))\n", i)
	}
	b.WriteString("    (local.get $a)))\n")
	dir := t.TempDir()
	wat, wasm := filepath.Join(dir, "heavy.wat"), filepath.Join(dir, "heavy.wasm")
	require.NoError(t, os.WriteFile(wat, []byte(b.String()), 0o644))
	out, err := exec.Command("wat2wasm", wat, "-o", wasm).CombinedOutput()
	require.NoError(t, err, string(out))
	require.NoError(t, os.Chmod(wasm, 0o644))
	return wasm
}

// heavyConfig has one strategy "heavy", a heavyGuest of 100000 lines with
// the given timeout, and its own compile cache.
func heavyConfig(t *testing.T, timeout time.Duration) *config.Config {
	t.Helper()
	wasm := heavyGuest(t, 100000)
	cfg := testConfig(t)
	cfg.CacheDir = filepath.Join(t.TempDir(), "cache")
	addStrategy(cfg, "heavy", wasm, nil)
	setStrategy(cfg, "heavy", func(s *config.Strategy) { s.Timeout = timeout })
	return cfg
}

// A compile longer than the strategy timeout ends the attempt at the
// timeout; the compile goes on, writes the entry, and the next fence loads
// it.
func TestExpensiveCompileIsBoundedByTheStrategyTimeoutAndStillCached(t *testing.T) {
	cfg := heavyConfig(t, 100*time.Millisecond)
	start := time.Now()

	rep := runChain(t, cfg, "n", nil)

	took := time.Since(start)
	require.Equal(t, discovery.OutcomeLoadError, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
	assert.Contains(t, rep.Attempts[0].Error, "compiling took longer than the strategy timeout")
	assert.Less(t, took, 30*time.Second, "generous: the compile alone takes longer unloaded")

	entries, _ := filepath.Glob(filepath.Join(cfg.CacheDir, "modules", "*", completeMarker))
	for deadline := time.Now().Add(3 * time.Minute); len(entries) == 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		entries, _ = filepath.Glob(filepath.Join(cfg.CacheDir, "modules", "*", completeMarker))
	}
	require.Len(t, entries, 1, "the background compile wrote the entry")
	setStrategy(cfg, "heavy", func(s *config.Strategy) { s.Timeout = time.Minute }) // a cache hit still validates 0.3 MB of code
	rep = runChain(t, cfg, "n", nil)
	assert.Equal(t, discovery.OutcomeFound, rep.Attempts[0].Outcome, rep.Attempts[0].Error)
}

// A compile that needs more memory than the ceiling is refused with a
// sentence, not an out-of-memory agent.
func TestCompileOverTheMemoryCeilingIsALoadError(t *testing.T) {
	cfg := heavyConfig(t, 2*time.Minute)
	src := NewSource(cfg, nil)
	defer src.Close(context.Background())
	src.eng.compileMemory = 48 << 20
	if raceBuild {
		t.Skip("a race build's shadow memory makes RLIMIT_DATA unusable")
	}

	_, err := src.Strategy(context.Background(), "heavy")

	require.Error(t, err)
	assert.Contains(t, err.Error(), "48 MiB")
}

func TestPrintableEscapesRawBytes(t *testing.T) {
	assert.Equal(t, `checksum mismatch \u0000\xff\u001b[2J ok`, printable("checksum mismatch \x00\xff\x1b[2J ok"))
}
