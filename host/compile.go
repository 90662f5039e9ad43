package host

// Compiling a module, bounded.
//
// wazero's compiler does not honour a context: a module crafted to be
// expensive holds the calling goroutine for as long as it likes (seconds per
// MB) and takes what memory it likes. So a compile the cache cannot answer
// runs in a child process (this executable again, compileChildArg) under an
// address-space ceiling and a CPU limit, and the fence waits for it only up
// to the strategy's timeout. The child writes the compile-cache entry; the
// agent then loads it from the cache, which is cheap.
//
// One entry directory per module (modules/<sha256 prefix>), so an entry can
// be checked, locked and evicted as a whole without knowing how wazero names
// its files. A lock on the entry makes a storm of agents on a cold cache
// compile each module once: the lock holder's child compiles, the others wait
// (within their timeout) and load what it wrote. A child the agent stopped
// waiting for finishes and writes the entry anyway, so the next fence is warm.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/execcap"
)

const (
	// compileChildArg is the hidden first argument that makes this
	// executable a compile child (init below), whichever binary links host.
	compileChildArg = "__fgr-compile-module"

	// compileMemoryCeiling is the default of the child's limit on private writable memory
	// (RLIMIT_DATA: the Go heap and wazero's code buffers). RLIMIT_AS does
	// not work: the Go runtime and wazero reserve address space far beyond
	// what they use. A module that needs more is refused, not compiled.
	compileMemoryCeiling = 512 << 20
	// compileCPULimit ends a child nobody waits for any more: the kernel
	// kills it after this much CPU time (RLIMIT_CPU).
	compileCPULimit = 120 // seconds

	// Child exit codes: how the compile failed.
	childCompileFailed = 10 // the module does not compile: the message says why
	childCacheFailed   = 11 // the module compiled, the entry could not be written
	goRuntimeDied      = 2  // how the Go runtime exits on a fatal error, signal or panic

	completeMarker = "complete" // in an entry directory: written last, by the child
	lockPoll       = 20 * time.Millisecond
)

func init() {
	// A compile child must never run the program it is part of: not the
	// agent's main, and not a test binary's tests.
	if len(os.Args) >= 2 && os.Args[1] == compileChildArg {
		os.Exit(compileChildMain(os.Args[2:]))
	}
}

// compiled is a module compiled for one runtime, and what the record should
// say about how it was compiled ("" when there is nothing to say).
type compiled struct {
	cm   wazero.CompiledModule
	rt   wazero.Runtime
	took time.Duration
	note string
}

// compile reads, checks and compiles a module: from its cache entry when
// there is a good one, else in a bounded child that writes the entry, else
// (no cache, or the cache cannot be written) in memory.
func (e *engine) compile(ctx context.Context, loc Location, memoryLimit int64, timeout time.Duration, shape func(wazero.CompiledModule) error) (compiled, error) {
	bin, err := ReadModule(loc.Path)
	if err != nil {
		return compiled{}, err
	}
	if e.cacheDir == "" {
		return e.compileIn(ctx, loc, bin, memoryLimit, "", shape)
	}
	sum := sha256.Sum256(bin)
	entry := filepath.Join(e.cacheDir, "modules", hex.EncodeToString(sum[:16]))
	if err := e.usableEntry(entry); err != nil {
		e.logger.Warn("compile cache entry unusable: evicted, the module is compiled again", "module", loc.Path, "entry", entry, "reason", err.Error())
		e.evict(entry)
	}
	if isComplete(entry) {
		c, err := e.compileIn(ctx, loc, bin, memoryLimit, entry, shape)
		if err == nil || e.wasEvicted(entry) {
			return c, err
		}
		// Flipped bytes, a truncated or an empty file: wazero refuses the
		// entry (checksum, EOF). Once per run it is thrown away and rebuilt.
		e.logger.Warn("compile cache entry does not load: evicted, the module is compiled again", "module", loc.Path, "entry", entry, "reason", err.Error())
		e.evict(entry)
	}
	if e.compileWait > 0 {
		timeout = e.compileWait
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	err = e.compileToCache(ctx, bin, entry, pagesFor(memoryLimit), deadline)
	var cerr *cacheWriteError
	switch {
	case err == nil:
		return e.compileIn(ctx, loc, bin, memoryLimit, entry, shape)
	case errors.As(err, &cerr):
		note := "the compile cache could not be written (" + cerr.msg + "): compiled in memory, so the next fence compiles again"
		e.logger.Warn(note, "module", loc.Path, "entry", entry)
		c, err := e.compileIn(ctx, loc, bin, memoryLimit, "", shape)
		c.note = note
		return c, err
	}
	return compiled{}, fmt.Errorf("%s: %w", loc.Path, err)
}

// compileIn compiles bin in this process, through the cache entry when one
// is given (then it is a cache hit: mostly wazero's validation).
// shape checks the compiled module's exports and imports for what it is
// loaded as (a strategy: checkShape; a reporter: checkReporterShape).
func (e *engine) compileIn(ctx context.Context, loc Location, bin []byte, memoryLimit int64, entry string, shape func(wazero.CompiledModule) error) (compiled, error) {
	rt, err := e.runtime(ctx, memoryLimit, entry)
	if err != nil {
		return compiled{}, err
	}
	start := time.Now()
	cm, err := rt.CompileModule(ctx, bin)
	took := time.Since(start)
	if err != nil {
		return compiled{}, fmt.Errorf("%s is not a usable WebAssembly module: %s", loc.Path, printable(err.Error()))
	}
	if err := shape(cm); err != nil {
		_ = cm.Close(ctx)
		return compiled{}, fmt.Errorf("%s: %w", loc.Path, err)
	}
	if err := checkImportsProvided(rt, cm); err != nil {
		_ = cm.Close(ctx)
		return compiled{}, fmt.Errorf("%s: %w", loc.Path, err)
	}
	return compiled{cm: cm, rt: rt, took: took}, nil
}

// checkImportsProvided names an import no host module defines (a WASI
// function preview1 does not have): instantiation would fail with a message
// that reads like a trap.
func checkImportsProvided(rt wazero.Runtime, cm wazero.CompiledModule) error {
	provided := map[string]map[string]api.FunctionDefinition{}
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		defs, ok := provided[mod]
		if !ok {
			if m := rt.Module(mod); m != nil {
				defs = m.ExportedFunctionDefinitions()
			}
			provided[mod] = defs
		}
		if _, ok := defs[name]; !ok {
			return fmt.Errorf("imports %s.%s, which this host does not provide", mod, name)
		}
	}
	return nil
}

// usableEntry checks an entry directory as the cache directory is checked:
// the entry's files are native code the host maps executable.
func (e *engine) usableEntry(entry string) error {
	for _, dir := range []string{filepath.Dir(entry), entry} {
		if err := checkPrivateDir(dir); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
	}
	return checkTree(entry)
}

// evict removes an entry, once per run.
func (e *engine) evict(entry string) {
	e.mu.Lock()
	e.evicted[entry] = true
	e.mu.Unlock()
	if err := os.RemoveAll(entry); err != nil {
		e.logger.Warn("could not evict a compile cache entry", "entry", entry, "error", err.Error())
	}
}

func (e *engine) wasEvicted(entry string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.evicted[entry]
}

func isComplete(entry string) bool {
	fi, err := os.Lstat(filepath.Join(entry, completeMarker))
	return err == nil && fi.Mode().IsRegular()
}

// cacheWriteError is a module that compiled but whose entry could not be
// written (a full disk): compiling in memory still works.
type cacheWriteError struct{ msg string }

func (e *cacheWriteError) Error() string { return "writing the compile cache: " + e.msg }

// compileToCache makes sure entry is complete by the deadline: it waits
// while another process holds the entry's lock (that process is compiling
// it), and when it gets the lock first it starts the compile child, which
// keeps the lock until it has written the entry.
func (e *engine) compileToCache(ctx context.Context, bin []byte, entry string, pages uint32, deadline time.Time) error {
	if err := os.MkdirAll(filepath.Dir(entry), 0o700); err != nil {
		return &cacheWriteError{err.Error()}
	}
	lockPath := entry + ".lock"
	lf, err := openLock(lockPath)
	if err != nil {
		return &cacheWriteError{err.Error()}
	}
	defer lf.Close()
	waited := time.Now()
	for {
		if isComplete(entry) {
			return nil
		}
		if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("another process has been compiling this module for %s (longer than the strategy timeout); the next fence loads it from the cache",
				time.Since(waited).Round(time.Millisecond))
		}
		time.Sleep(lockPoll)
	}
	if isComplete(entry) { // written while we waited for the lock
		return nil
	}
	return e.runCompileChild(ctx, bin, entry, pages, lf, deadline)
}

func openLock(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", path)
	}
	if err == nil {
		if uid, ok := ownerOK(fi); !ok {
			err = fmt.Errorf("%s is owned by uid %d", path, uid)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// runCompileChild compiles bin into entry in a child process that inherits
// the entry's lock, and waits for it until the deadline. The child has its
// own session and no parent-death signal: when the fence cannot wait, the
// compile still finishes and is written.
func (e *engine) runCompileChild(ctx context.Context, bin []byte, entry string, pages uint32, lock *os.File, deadline time.Time) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ceiling := e.compileMemory
	if ceiling <= 0 {
		ceiling = compileMemoryCeiling
	}
	cmd := exec.Command(exe, compileChildArg, entry, strconv.FormatUint(uint64(pages), 10), strconv.FormatInt(ceiling, 10))
	cmd.Env = []string{execcap.BasePath, "LANG=C"}
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{lock} // fd 3: the child holds the lock until it exits
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stderr := &cappedWriter{max: 4 << 10}
	cmd.Stderr = stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the compile: %w", err)
	}
	e.logger.Debug("compiling the module in a child process", "entry", entry, "pid", cmd.Process.Pid)
	execcap.Spare(cmd.Process.Pid)
	go func() {
		_, _ = stdin.Write(bin)
		stdin.Close()
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case err = <-done:
	case <-t.C:
		return fmt.Errorf("compiling took longer than the strategy timeout (%s so far); it goes on in the background (pid %d) and the next fence loads it from the cache",
			time.Since(start).Round(time.Millisecond), cmd.Process.Pid)
	case <-ctx.Done():
		return fmt.Errorf("stopped waiting for the compile (%v); it goes on in the background (pid %d)", ctx.Err(), cmd.Process.Pid)
	}
	msg := printable(firstLine(strings.TrimSpace(stderr.String())))
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit) && exit.ExitCode() == childCacheFailed:
		return &cacheWriteError{msg}
	case errors.As(err, &exit) && exit.ExitCode() == childCompileFailed:
		return errors.New("is not a usable WebAssembly module: " + msg)
	case errors.As(err, &exit) && !exit.Exited():
		return fmt.Errorf("compiling it was stopped by %v: it needs more than the %d MiB or %d s compile limits (docs/ABI.md \"Limits\")",
			exit.Sys().(syscall.WaitStatus).Signal(), ceiling>>20, compileCPULimit)
	}
	if strings.Contains(msg, "out of memory") || strings.Contains(msg, "cannot allocate memory") {
		return fmt.Errorf("compiling it needs more than the %d MiB compile memory ceiling", ceiling>>20)
	}
	if errors.As(err, &exit) && exit.ExitCode() == goRuntimeDied {
		// At RLIMIT_DATA the Go runtime does not always say "out of
		// memory": an mmap it cannot get can also end it as a SIGSEGV.
		return fmt.Errorf("the compile's Go runtime died (%s), most likely at the %d MiB compile memory ceiling", msg, ceiling>>20)
	}
	return fmt.Errorf("compile failed: %v: %s", err, msg)
}

// compileChildMain is the child: read the module on stdin, compile it into
// the entry's cache directory under the limits, mark the entry complete.
// fd 3 is the entry's lock, held until exit.
func compileChildMain(args []string) int {
	fail := func(code int, err error) int {
		fmt.Fprintln(os.Stderr, err)
		return code
	}
	// The agent may have stopped waiting and gone: its end of stderr is
	// then closed, and that must not kill the child before it says nothing.
	signalIgnorePipe()
	if len(args) != 3 {
		return fail(1, errors.New("usage: "+compileChildArg+" ENTRY_DIR PAGES MEMORY_BYTES < module.wasm"))
	}
	entry := args[0]
	pages, err := strconv.ParseUint(args[1], 10, 32)
	if err != nil {
		return fail(1, err)
	}
	ceiling, err := strconv.ParseUint(args[2], 10, 64)
	if err != nil {
		return fail(1, err)
	}
	if !raceBuild {
		_ = unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: ceiling, Max: ceiling})
	}
	// The collector works to stay under the ceiling before the kernel says no.
	debug.SetMemoryLimit(int64(ceiling) * 3 / 4)
	debug.SetGCPercent(100)
	_ = unix.Setrlimit(unix.RLIMIT_CPU, &unix.Rlimit{Cur: compileCPULimit, Max: compileCPULimit + 5})
	bin, err := io.ReadAll(io.LimitReader(os.Stdin, maxModuleBytes+1))
	if err != nil {
		return fail(1, err)
	}
	if err := os.MkdirAll(entry, 0o700); err != nil {
		return fail(childCacheFailed, err)
	}
	ctx := experimental.WithCompilationWorkers(context.Background(), runtime.GOMAXPROCS(0))
	cache, err := wazero.NewCompilationCacheWithDir(entry)
	if err != nil {
		return fail(childCacheFailed, err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, runtimeConfig(uint32(pages), cache, false))
	if _, err := rt.CompileModule(ctx, bin); err != nil {
		if isWriteError(err) {
			return fail(childCacheFailed, err)
		}
		return fail(childCompileFailed, err)
	}
	if err := writeMarker(filepath.Join(entry, completeMarker)); err != nil {
		return fail(childCacheFailed, err)
	}
	return 0
}

func isWriteError(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EROFS) ||
		errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EIO)
}

func writeMarker(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkPrivateDir is the cache directory's rule for every directory in it:
// a real directory (not a symlink), owned by root or the agent's user,
// writable by nobody else.
func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (%s)", dir, fileType(fi))
	}
	if uid, ok := ownerOK(fi); !ok {
		return fmt.Errorf("%s is owned by uid %d, not by root or the agent's uid %d", dir, uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s has mode %s: writable by group or others (want 0700)", dir, modeString(fi))
	}
	return nil
}

// checkTree applies the cache's rules to everything under dir: directories
// as checkPrivateDir, files regular, owned by root or the agent's user and
// not writable by others; no symlinks, FIFOs or devices.
func checkTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			return checkPrivateDir(p)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file (%s)", p, fileType(fi))
		}
		if uid, ok := ownerOK(fi); !ok {
			return fmt.Errorf("%s is owned by uid %d, not by root or the agent's uid %d", p, uid, os.Geteuid())
		}
		if fi.Mode().Perm()&0o022 != 0 {
			return fmt.Errorf("%s has mode %s: writable by group or others", p, modeString(fi))
		}
		return nil
	})
}

// printable keeps a message that may quote file or module bytes readable
// and safe for a log line: invalid UTF-8 and control characters become
// escapes.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t' || unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += n
	}
	return b.String()
}

func signalIgnorePipe() { signal.Ignore(syscall.SIGPIPE) }
