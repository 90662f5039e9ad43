package plugintest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin/plugintest"
)

// discover is a small strategy under test: it asks "pcs" for the node's
// resources and keeps the gfs2 ones, logging what it skipped.
func discover(ctx plugin.Context, req plugin.Request) (plugin.Result, error) {
	res, err := ctx.Exec("pcs", "resource", "status", "--node", req.Node)
	if err != nil {
		return plugin.Result{}, err
	}
	if err := res.Err(); err != nil {
		return plugin.Result{}, err
	}
	var fs []string
	for _, line := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
		id, kind, _ := strings.Cut(line, " ")
		if kind == "gfs2" {
			fs = append(fs, id)
		} else {
			ctx.Logger().Debug("not gfs2", "resource", id, "fstype", kind)
		}
	}
	return plugin.Result{Filesystems: fs}, nil
}

// t stands in for the *testing.T a real test passes to NewContext; the fake
// reports unscripted commands through its Errorf.
var t = exampleT{}

// The usual shape of a strategy test: allow the commands the config would
// grant, script what they print, run discover, then check the answer, the
// calls made and the lines logged.
func ExampleNewContext() {
	ctx := plugintest.NewContext(t).
		Allow("pcs").
		Script("pcs", plugintest.Output([]byte("fs-home gfs2\nfs-tmp xfs\n")), "resource", "status", "--node", "compute-node-3")

	res, err := discover(ctx, plugin.Request{Node: "compute-node-3", Action: "reboot"})
	fmt.Println(res.Filesystems, err)
	fmt.Println(ctx.Calls())
	fmt.Println(ctx.Logs())
	// Output:
	// [fs-home] <nil>
	// [{pcs [resource status --node compute-node-3]}]
	// [{-4 not gfs2 resource=fs-tmp fstype=xfs}]
}

// Commands are denied unless allowed, like the real host: a test proves the
// strategy copes with a configuration that did not grant it.
func ExampleContext_Allow() {
	ctx := plugintest.NewContext(t) // no Allow
	_, err := discover(ctx, plugin.Request{Node: "compute-node-3"})
	fmt.Println(errors.Is(err, plugin.ErrDenied))
	// Output: true
}

// A script with no arguments matches any arguments; later scripts win, so
// a test can start from a general answer and override one case.
func ExampleContext_Script() {
	ctx := plugintest.NewContext(t).Allow("pcs").
		Script("pcs", plugintest.Output([]byte("fs-any gfs2\n"))).
		Script("pcs", plugintest.Output([]byte("fs-seven gfs2\n")), "resource", "status", "--node", "compute-node-7")

	for _, node := range []string{"compute-node-1", "compute-node-7"} {
		res, _ := discover(ctx, plugin.Request{Node: node})
		fmt.Println(node, res.Filesystems)
	}
	// Output:
	// compute-node-1 [fs-any]
	// compute-node-7 [fs-seven]
}

// Fail and Timeout script the failures a real command has; Response.Err
// scripts one that could not start at all.
func ExampleFail() {
	for _, resp := range []plugintest.Response{
		plugintest.Fail(1, "Error: unable to get cib\n"),
		plugintest.Timeout(),
		{Err: errors.New("exec pcs: /usr/sbin/pcs: no such file or directory")},
	} {
		ctx := plugintest.NewContext(t).Allow("pcs").Script("pcs", resp)
		_, err := discover(ctx, plugin.Request{Node: "compute-node-3"})
		fmt.Println(err)
	}
	// Output:
	// command pcs exited with status 1: Error: unable to get cib
	// command pcs timed out (limit commands.pcs.timeout, or the strategy's timeout when less of it remained)
	// exec pcs: /usr/sbin/pcs: no such file or directory
}

// An allowed command the test did not script is a test failure, reported
// through t: the fake never invents output.
func ExampleContext_Exec() {
	ctx := plugintest.NewContext(t).Allow("pcs")
	_, err := ctx.Exec("pcs", "status")
	fmt.Println(err)
	// Output:
	// test error: plugintest: unscripted command pcs status
	// plugintest: unscripted command "pcs"
}

// exampleT prints what a *testing.T would record.
type exampleT struct{ testing.TB }

func (exampleT) Helper() {}

func (exampleT) Errorf(format string, args ...any) { fmt.Printf("test error: "+format+"\n", args...) }
