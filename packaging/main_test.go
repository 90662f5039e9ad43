package packaging

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// repoRoot is the module root: the make targets run there.
var repoRoot string

// buildDir is a private BIN for make, so tests never touch the bin/ of a
// developer (or of another test) working in the same tree.
var buildDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = filepath.Dir(wd)
	tmp, err := os.MkdirTemp("", "fgr-packaging-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	buildDir = filepath.Join(tmp, "bin")
	// Build once; every later make call finds go's build cache warm.
	if out, err := makeCmd("build", "man"); err != nil {
		fmt.Fprintf(os.Stderr, "make build man failed: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// testVersion pins the version stamped into the agent and the man page:
// the Makefile's default comes from git describe --dirty, which changes
// under the test whenever anyone commits or edits in the same tree.
const testVersion = "0.0.0-packaging-test"

// makeCmd runs make in the repository with the private BIN.
func makeCmd(args ...string) ([]byte, error) {
	cmd := exec.Command("make", append([]string{"-C", repoRoot, "--no-print-directory",
		"BIN=" + buildDir, "VERSION=" + testVersion}, args...)...)
	return cmd.CombinedOutput()
}

func mustMake(t *testing.T, args ...string) string {
	t.Helper()
	out, err := makeCmd(args...)
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// node is what a tree snapshot keeps of one path.
type node struct {
	Mode os.FileMode
	Hash string // files only
	Link string // symlinks only
}

func (n node) String() string {
	return fmt.Sprintf("%v %s%s", n.Mode, n.Hash, n.Link)
}

// snapshot records every path under root (relative, "/"-separated).
func snapshot(t *testing.T, root string) map[string]node {
	t.Helper()
	tree := map[string]node{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n := node{Mode: info.Mode()}
		switch {
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			n.Hash = hex.EncodeToString(sum[:8])
		case info.Mode()&fs.ModeSymlink != 0:
			n.Link, _ = os.Readlink(p)
		}
		tree[filepath.ToSlash(rel)] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// diffTrees lists what differs between two snapshots, one line per path.
func diffTrees(before, after map[string]node) []string {
	var d []string
	for p, a := range after {
		if b, ok := before[p]; !ok {
			d = append(d, "+ "+p+" "+a.String())
		} else if a != b {
			d = append(d, "~ "+p+" "+b.String()+" -> "+a.String())
		}
	}
	for p, b := range before {
		if _, ok := after[p]; !ok {
			d = append(d, "- "+p+" "+b.String())
		}
	}
	sort.Strings(d)
	return d
}

// agentEnv runs the agent away from the system's configuration and logs.
func agentEnv(configFile string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FENCE_GFS2_RECORDER_") {
			env = append(env, kv)
		}
	}
	if configFile != "" {
		env = append(env, "FENCE_GFS2_RECORDER_CONFIG="+configFile)
	}
	return env
}

// runAgent runs the agent with stdin, returning stdout, stderr and the exit code.
func runAgent(t *testing.T, agent string, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(agent, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %s %v: %v", agent, args, err)
		}
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}
