package main

import (
	"errors"
	"slices"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin/plugintest"
)

// Native tests: the strategy is plain Go, and plugintest scripts what the
// granted command prints.

const list = "# node filesystem...\ncompute-node-3 proj-gfs2 scratch\ncompute-node-30 other\n\ncompute-node-3 home # later lines add\n"

func TestFindsTheNodesFilesystemsExactly(t *testing.T) {
	ctx := plugintest.NewContext(t).Allow(listCommand).Script(listCommand, plugintest.Output([]byte(list)))
	res, err := discover(ctx, plugin.Request{Node: "compute-node-3"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"proj-gfs2", "scratch", "home"}; !slices.Equal(res.Filesystems, want) {
		t.Errorf("filesystems %q, want %q", res.Filesystems, want)
	}
}

func TestANodeNotListedHasNone(t *testing.T) {
	ctx := plugintest.NewContext(t).Allow(listCommand).Script(listCommand, plugintest.Output([]byte(list)))
	res, err := discover(ctx, plugin.Request{Node: "compute-node-4"})
	if err != nil || len(res.Filesystems) != 0 {
		t.Errorf("got %q, %v; want none", res.Filesystems, err)
	}
}

func TestFailuresAreErrors(t *testing.T) {
	denied := plugintest.NewContext(t) // nothing granted
	if _, err := discover(denied, plugin.Request{Node: "n"}); !errors.Is(err, plugin.ErrDenied) {
		t.Errorf("denied: %v", err)
	}
	failed := plugintest.NewContext(t).Allow(listCommand).Script(listCommand, plugintest.Fail(1, "cat: nodes.txt: No such file"))
	if _, err := discover(failed, plugin.Request{Node: "n"}); err == nil {
		t.Error("a failing command gave no error")
	}
	bad := plugintest.NewContext(t).Allow(listCommand).Script(listCommand, plugintest.Output([]byte("ok fs\n\nlonely\n")))
	if _, err := discover(bad, plugin.Request{Node: "n"}); err == nil || err.Error() != "site list line 3: a node without filesystems" {
		t.Errorf("bad list: %v", err)
	}
}
