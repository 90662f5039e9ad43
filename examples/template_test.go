// Package examples holds the test that the plugin template works where a
// site would use it: copied out of this tree.
package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// buildAgent builds the agent into dir.
func buildAgent(t *testing.T, dir string) string {
	t.Helper()
	agent := filepath.Join(dir, "agent", "fence_gfs2_recorder")
	build := exec.Command("go", "build", "-o", agent, "./cmd/fence_gfs2_recorder")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the agent: %v\n%s", err, out)
	}
	return agent
}

// copyExample copies examples/<name> to dir, writable as a checkout is.
func copyExample(t *testing.T, name, dir string) string {
	t.Helper()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(repoRoot(), "examples", name))); err != nil {
		t.Fatal(err)
	}
	if err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			err = os.Chmod(p, 0o644)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The template, copied to a directory outside the checkout, builds, passes
// its tests, and is verified, run and installed by the agent with only the
// commands its README gives (the replace pointing at this checkout's SDK,
// as the README says to do until the SDK is published).
func TestTemplateWorksCopiedOutOfTheTree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent and a wasm module")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed (apt-get install make)")
	}
	root := repoRoot()
	tmp := t.TempDir()
	if strings.HasPrefix(tmp, root) {
		t.Fatalf("temp dir %s is inside the checkout", tmp)
	}
	agent := buildAgent(t, tmp)
	dir := copyExample(t, "plugin-template", filepath.Join(tmp, "my-strategy"))

	// The README's steps, offline: the SDK requires nothing, so the
	// template needs no go.sum and no download (GOPROXY=off), and nothing
	// may be added to its go.mod (-mod=readonly).
	env := append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off", "GOPROXY=off")
	step := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	step("go", "mod", "edit", "-replace", "github.com/NearNodeFlash/fence-gfs2-recorder/sdk="+filepath.Join(root, "sdk"))
	out := step("make", "test", "build")
	if !strings.Contains(out, "ok  \texample.com/site-strategy") {
		t.Errorf("make test ran no tests:\n%s", out)
	}
	out = step("make", "verify", "AGENT="+agent)
	if !strings.Contains(out, `verified: site-strategy.wasm: ABI 1, strategy "site-strategy"`) || !strings.Contains(out, "needs site-list") {
		t.Errorf("make verify:\n%s", out)
	}
	out = step("make", "run", "AGENT="+agent, "NODE=compute-node-3")
	if !strings.Contains(out, "outcome:     found") || !strings.Contains(out, "filesystems: proj-gfs2 scratch") {
		t.Errorf("make run:\n%s", out)
	}
	plugins := filepath.Join(tmp, "plugins.d")
	step("make", "install", "PLUGIN_DIR="+plugins)
	if fi, err := os.Stat(filepath.Join(plugins, "site-strategy.wasm")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("installed module: %v %v", fi, err)
	}
	step("go", "mod", "tidy")
	if b, err := os.ReadFile(filepath.Join(dir, "go.sum")); err == nil && len(b) > 0 {
		t.Errorf("go mod tidy gave the template dependencies beyond the SDK:\n%s", b)
	}
}
