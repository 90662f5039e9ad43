package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildAgent builds the agent and its built-in module the way `make build`
// lays them out: <dir>/fence_gfs2_recorder and <dir>/plugins/builtin.wasm.
func buildAgent(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root := repoRoot()
	for _, args := range [][]string{
		{"build", "-o", filepath.Join(dir, "fence_gfs2_recorder"), "./cmd/fence_gfs2_recorder"},
		{"build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "plugins", "builtin.wasm"), "./plugins/builtin"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if strings.Contains(args[1], "c-shared") {
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
	return filepath.Join(dir, "fence_gfs2_recorder")
}

// On a machine with none of the tools, the recorded Pacemaker outputs
// answer: the record names filesystems, then the idle node is recorded as
// none-detected, strategy by strategy.
func TestDemoDiscoversWithoutAnyTool(t *testing.T) {
	var out strings.Builder
	if err := run(buildAgent(t), true, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"recorded: target_node=compute-node-3 gfs2_filesystems=gfs2-home,gfs2-proj",
		"  pcs-status   found",
		"recorded: target_node=compute-node-6 gfs2_filesystems=none-detected",
		"  pcs-config   empty",
		`TARGET=compute-node-3 GFS2=["gfs2-home","gfs2-proj"]`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
	if _, err := exec.LookPath("jq"); err == nil && !strings.Contains(got, "$ jq -r '.action' $F | sort | uniq -c\n      2 reboot") {
		t.Errorf("the README's queries did not run on the demo's log:\n%s", got)
	}
	dir := strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(got, "\n", 2)[0], "== demo directory "), " (nothing is written outside it)")
	if !strings.HasPrefix(dir, os.TempDir()) {
		t.Errorf("demo directory %q is not a temporary one", dir)
	}
	os.RemoveAll(dir)
}

func TestJQLinesAreTheREADMEQueries(t *testing.T) {
	qs := jqLines("x\nQueries:\n\n```sh\nF=/var/log/x.jsonl\njq -r '.action' $F | sort   # per action\njq -c . $F\n```\njq not this\n")
	if strings.Join(qs, "|") != "jq -r '.action' $F | sort|jq -c . $F" {
		t.Errorf("jqLines = %q", qs)
	}
}
