package examples

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The WAT strategy, assembled by its Makefile outside the tree, passes the
// agent's checks and answers through the real host.
func TestWATStrategyBuildsVerifiesAndAnswers(t *testing.T) {
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Skip("!!! wat2wasm not installed (apt-get install wabt): the WAT example is not tested !!!")
	}
	tmp := t.TempDir()
	agent := buildAgent(t, tmp)
	dir := copyExample(t, "wat-strategy", filepath.Join(tmp, "wat"))
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("make", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("verify", "AGENT="+agent); !strings.Contains(out, `verified: wat-list.wasm: ABI 1, strategy "wat-list", sdk "hand-written wat"`) ||
		!strings.Contains(out, "needs site-list") {
		t.Errorf("make verify:\n%s", out)
	}
	out := run("run", "AGENT="+agent, "NODE=compute-node-3")
	for _, want := range []string{"outcome:     found", "filesystems: proj-gfs2 scratch", "call 1:      site-list compute-node-3 -> exit 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("make run lacks %q:\n%s", want, out)
		}
	}
	if out := run("run", "AGENT="+agent, "NODE=compute-node-9"); !strings.Contains(out, "outcome:     empty") {
		t.Errorf("a node not listed:\n%s", out)
	}
}
