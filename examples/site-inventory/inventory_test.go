package main

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin/plugintest"
)

// The example inventory shipped beside the plugin is the test fixture, so
// the file a reader copies is the file that is known to work.
func shippedInventory(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("site-inventory.tsv")
	require.NoError(t, err)
	return b
}

func TestRegistersUnderItsName(t *testing.T) {
	name, fn := plugin.Registered()
	assert.Equal(t, Name, name)
	assert.NotNil(t, fn)
}

func TestDiscoverFromShippedInventory(t *testing.T) {
	for node, want := range map[string][]string{
		"compute-node-1":  {"proj-a-gfs2", "scratch-gfs2"},
		"compute-node-2":  {"proj-b-gfs2", "scratch-gfs2"},
		"compute-node-4":  {"proj-a-gfs2", "scratch-gfs2"},
		"compute-node-9":  {"scratch-gfs2"},
		"rabbit-node-1":   nil,
		"compute-node-10": {"scratch-gfs2"},
	} {
		t.Run(node, func(t *testing.T) {
			ctx := plugintest.NewContext(t).Allow(Command).
				Script(Command, plugintest.Output(shippedInventory(t)))
			res, err := discover(ctx, plugin.Request{Node: node, Action: "reboot"})
			require.NoError(t, err)
			assert.Equal(t, want, res.Filesystems)
			// It runs the granted command exactly once, with no arguments:
			// the file is the administrator's choice, not the plugin's.
			calls := ctx.Calls()
			require.Len(t, calls, 1)
			assert.Equal(t, Command, calls[0].Name)
			assert.Empty(t, calls[0].Args)
			assert.Equal(t, 4, res.Details["inventory_entries"])
		})
	}
}

func TestPatternsCanBeSwitchedOff(t *testing.T) {
	ctx := plugintest.NewContext(t).Allow(Command).Script(Command, plugintest.Output(shippedInventory(t)))
	res, err := discover(ctx, plugin.Request{Node: "compute-node-1", Config: map[string]any{"patterns": false}})
	require.NoError(t, err)
	assert.Equal(t, []string{"proj-a-gfs2", "scratch-gfs2"}, res.Filesystems)
	assert.Equal(t, []string{"3"}, res.Details["matched_lines"])

	ctx = plugintest.NewContext(t).Allow(Command).Script(Command, plugintest.Output(shippedInventory(t)))
	res, err = discover(ctx, plugin.Request{Node: "compute-node-9", Config: map[string]any{"patterns": false}})
	require.NoError(t, err)
	assert.Empty(t, res.Filesystems, "only a pattern line names compute-node-9")
}

func TestBadLinesAreSkippedAndLogged(t *testing.T) {
	inv := []byte("compute-node-[ broken-gfs2\nlonely-node\ncompute-node-1 good-gfs2\n")
	ctx := plugintest.NewContext(t).Allow(Command).Script(Command, plugintest.Output(inv))
	res, err := discover(ctx, plugin.Request{Node: "compute-node-1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"good-gfs2"}, res.Filesystems)
	assert.Equal(t, []string{`line 1: bad node pattern "compute-node-["`, `line 2: node "lonely-node" has no filesystems`},
		res.Details["skipped_lines"])
	var warns int
	for _, l := range ctx.Logs() {
		if l.Level == plugin.LevelWarn {
			warns++
			assert.Contains(t, l.Msg, "inventory line skipped problem=")
		}
	}
	assert.Equal(t, 2, warns)
}

func TestNotGrantedIsDenied(t *testing.T) {
	ctx := plugintest.NewContext(t) // nothing allowed, like a config without allow: [inventory]
	_, err := discover(ctx, plugin.Request{Node: "compute-node-1"})
	require.Error(t, err)
	assert.True(t, errors.Is(err, plugin.ErrDenied), "got %v", err)
}

func TestCommandFailuresAreErrors(t *testing.T) {
	for name, resp := range map[string]plugintest.Response{
		"exit 1":    plugintest.Fail(1, "cat: /etc/fence_gfs2_recorder/site-inventory.tsv: No such file or directory"),
		"timeout":   plugintest.Timeout(),
		"not found": {Err: errors.New("exec inventory: /usr/bin/cat: no such file")},
		"truncated": {Result: plugin.ExecResult{Stdout: []byte("compute-node-1 a\n"), StdoutTruncated: true}},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := plugintest.NewContext(t).Allow(Command).Script(Command, resp)
			res, err := discover(ctx, plugin.Request{Node: "compute-node-1"})
			assert.Error(t, err)
			assert.Empty(t, res.Filesystems, "no partial answer on failure")
		})
	}
}

func TestEmptyInventoryIsAnEmptyAnswer(t *testing.T) {
	ctx := plugintest.NewContext(t).Allow(Command).Script(Command, plugintest.Output([]byte("# nothing yet\n\n")))
	res, err := discover(ctx, plugin.Request{Node: "compute-node-1"})
	require.NoError(t, err)
	assert.Empty(t, res.Filesystems, "empty lets the chain move on to the next strategy")
}
