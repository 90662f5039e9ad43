package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docs/PLUGINS.md is what a plugin author copies from: its code and its
// configuration are tested here so the guide cannot rot.

const guide = "../../docs/PLUGINS.md"

func docBlocks(t *testing.T, file, lang string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var out []string
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	require.NotEmpty(t, out, "no ```%s block in %s", lang, file)
	return out
}

// TestGuideStrategyBuildsAndAnswers builds the guide's complete strategy
// with the guide's build command (through a go build overlay, so nothing is
// written into the tree) and runs it with the agent against the shipped
// inventory.
func TestGuideStrategyBuildsAndAnswers(t *testing.T) {
	var src string
	for _, b := range docBlocks(t, guide, "go") {
		if strings.HasPrefix(b, "package main") {
			src = b
		}
	}
	require.NotEmpty(t, src, "the guide's complete strategy (a ```go block starting with package main)")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
	wd, err := os.Getwd()
	require.NoError(t, err)
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{
		filepath.Join(wd, "guide-snippet", "main.go"): filepath.Join(dir, "main.go"),
	}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "overlay.json"), overlay, 0o644))

	plugins := filepath.Join(dir, "plugins")
	require.NoError(t, os.Mkdir(plugins, 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	wasm := filepath.Join(plugins, Name+".wasm")
	cmd := exec.Command("go", "build", "-overlay", filepath.Join(dir, "overlay.json"),
		"-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", wasm, "./guide-snippet")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	s := newSite(t, false)
	stdout, stderr, code := s.agent("", "plugins", "verify", wasm)
	require.Equal(t, 0, code, "%s%s", stdout, stderr)
	stdout, stderr, code = s.agent("", "plugins", "run", wasm, "--node", "compute-node-2", "--json")
	require.Equal(t, 0, code, "%s%s", stdout, stderr)
	var a struct {
		Outcome     string   `json:"outcome"`
		Filesystems []string `json:"filesystems"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &a), stdout)
	assert.Equal(t, "found", a.Outcome)
	// The short version matches exact node names only: no pattern lines.
	assert.Equal(t, []string{"proj-b-gfs2"}, a.Filesystems)
}

// TestGuideConfigLoads feeds the configuration of the guide and of this
// example's README to the agent's own loader, which rejects unknown keys,
// undefined commands in allow lists and undeclared strategies in the order.
func TestGuideConfigLoads(t *testing.T) {
	blocks := append(docBlocks(t, guide, "yaml"), docBlocks(t, "README.md", "yaml")...)
	for i, b := range blocks {
		cfg := filepath.Join(t.TempDir(), "config.yaml")
		require.NoError(t, os.WriteFile(cfg, []byte(b), 0o644))
		cmd := exec.Command(agentBin, "config")
		cmd.Env = append(os.Environ(), "FENCE_GFS2_RECORDER_CONFIG="+cfg)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "yaml block %d:\n%s\n%s", i+1, b, out)
		assert.Contains(t, string(out), "strategies.site-inventory.allow = [\"inventory\"]")
	}
}
