package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/options"
)

// TestManPageShowsEveryOptionOfTheTable renders the page the way `make man`
// does and reads it through man -l: every option of the agent's table that is
// shown to anyone (not Hidden) must be findable by the spelling a user types
// and, unless argv-only, by the stdin key Pacemaker passes.
func TestManPageShowsEveryOptionOfTheTable(t *testing.T) {
	out := filepath.Join(t.TempDir(), "fence_gfs2_recorder.8")
	require.NoError(t, run("", out, "9.9.9", ""))
	page := manL(t, out)

	shown := 0
	for _, o := range options.Table {
		if o.Hidden {
			assert.NotContains(t, page, "--"+o.Long, "hidden option %s leaked into the manual", o.Name)
			continue
		}
		shown++
		if o.Long != "" {
			assert.Contains(t, page, "--"+o.Long, "option %s", o.Name)
		}
		if o.Short != "" {
			assert.Contains(t, page, "-"+o.Short+", --", "short flag of %s", o.Name)
		}
		if !o.NotInMetadata {
			assert.Regexp(t, `(?m)^\s+`+regexp.QuoteMeta(o.Name)+`(\s|$)`, page, "stdin key %s", o.Name)
		}
	}
	require.NotZero(t, shown, "the option table is empty")
	for _, a := range options.Actions {
		assert.Regexp(t, `(?m)^\s+`+regexp.QuoteMeta(a)+`(\s|$)`, page, "action %s", a)
	}
	assert.Contains(t, page, "9.9.9")
	assert.Contains(t, page, "plugins verify FILE")
}

// TestRenderOtherAgentMetadata keeps -in working for a metadata file we did not write.
func TestRenderOtherAgentMetadata(t *testing.T) {
	out := filepath.Join(t.TempDir(), "fence_dummy.8")
	require.NoError(t, run("../testdata/fence_dummy-metadata.xml", out, "", ""))
	page := manL(t, out)
	assert.Contains(t, page, "--random_sleep_range=[seconds]")
	assert.NotContains(t, page, "fence_gfs2_recorder", "agent-specific sections belong to our own page only")
}

func TestBadMetadataFileIsAnError(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.xml")
	require.NoError(t, os.WriteFile(bad, []byte("<resource-agent/>"), 0o644))
	assert.Error(t, run(bad, filepath.Join(t.TempDir(), "x.8"), "", ""))
	assert.Error(t, run(filepath.Join(t.TempDir(), "missing.xml"), "-", "", ""))
}

func manL(t *testing.T, file string) string {
	t.Helper()
	manPath, err := exec.LookPath("man")
	if err != nil {
		t.Skip("SKIP: man(1) not installed (apt-get install man-db groff-base)")
	}
	cmd := exec.Command(manPath, "-l", file)
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=100", "LC_ALL=C", "LANG=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "man -l: %s", stderr.String())
	assert.Empty(t, strings.TrimSpace(stderr.String()), "groff warnings")
	return string(regexp.MustCompile(".\b").ReplaceAll(out, nil))
}
