package plugin_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin/plugintest"
)

// discover is the strategy the examples run: it asks a granted "inventory"
// command for the node's filesystems, one per line.
func discover(ctx plugin.Context, req plugin.Request) (plugin.Result, error) {
	res, err := ctx.Exec("inventory", "--node", req.Node)
	if err != nil {
		return plugin.Result{}, err // denied, or the command could not start
	}
	if err := res.Err(); err != nil {
		return plugin.Result{}, errors.New("inventory: " + err.Error())
	}
	fs := strings.Fields(string(res.Stdout))
	ctx.Logger().Debug("inventory answered", "node", req.Node, "filesystems", fs)
	return plugin.Result{Filesystems: fs, Details: map[string]any{"source": "inventory"}}, nil
}

// A strategy is a main package that registers its discover function from
// init and has an empty main: the host loads it as a WASI reactor, which
// runs init but never main. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o site-inventory.wasm .
//
// (This example is compiled, not run: Register may be called only once in a
// program, and that call belongs in the strategy's own init.)
func ExampleRegister() {
	// In the strategy's main package:
	//
	//	func init() { plugin.Register("site-inventory", discover) }
	//	func main() {}
	plugin.Register("site-inventory", discover)
}

// Needs declares, at registration, a command every fence runs (or several
// of which any one will do). The host reads it from fgr_info: `plugins
// verify`, `plugins list` and the monitor action then fail while the
// configuration does not grant it, before a fence is denied it.
// (Compiled, not run, like ExampleRegister.)
func ExampleNeeds() {
	// In the strategy's main package:
	//
	//	func init() { plugin.Register("site-inventory", discover, plugin.Needs("inventory")) }
	plugin.Register("site-status", discover, plugin.Needs("inventory"), plugin.Needs("crm_mon", "pcs"))
}

// Register's counterpart: the wasm glue and a strategy's own tests reach
// the registered function through Registered (nil before any Register).
// Compiled, not run: what it returns depends on which strategy's init ran.
func ExampleRegistered() {
	name, fn := plugin.Registered()
	if fn == nil {
		panic("no strategy registered: call plugin.Register from init")
	}
	fmt.Println("testing strategy", name)
}

// A discover function is plain Go: run it natively against a scripted
// context (package plugintest), here with the answer a real inventory
// command would print.
func ExampleDiscoverFunc() {
	var fn plugin.DiscoverFunc = discover
	ctx := plugintest.NewContext(exampleT{}).
		Allow("inventory").
		Script("inventory", plugintest.Output([]byte("proj-a-gfs2\nscratch-gfs2\n")), "--node", "compute-node-3")

	res, err := fn(ctx, plugin.Request{Node: "compute-node-3", Action: "reboot"})
	fmt.Println(res.Filesystems, err)
	for _, l := range ctx.Logs() {
		fmt.Println(l.Level, l.Msg)
	}
	// Output:
	// [proj-a-gfs2 scratch-gfs2] <nil>
	// -4 inventory answered node=compute-node-3 filesystems=[proj-a-gfs2,scratch-gfs2]
}

// A command the strategy was not granted (strategies.<name>.allow) fails
// with an error that wraps ErrDenied; nothing is run.
func ExampleErrDenied() {
	ctx := plugintest.NewContext(exampleT{}) // nothing allowed
	_, err := discover(ctx, plugin.Request{Node: "compute-node-3"})
	fmt.Println(errors.Is(err, plugin.ErrDenied))
	fmt.Println(err)
	// Output:
	// true
	// exec "inventory": command not allowed for this strategy
}

// A non-zero exit or a timeout is not an Exec error: the result says what
// happened, and Err turns it into one, quoting the first line of stderr.
func ExampleExecResult_Err() {
	failed := &plugin.ExecResult{ExitCode: 2, Stderr: []byte("cat: /etc/site/inventory: No such file or directory\nmore\n")}
	fmt.Println(failed.Err())

	killed := &plugin.ExecResult{ExitCode: -1, TimedOut: true}
	fmt.Println(killed.Err())

	ok := &plugin.ExecResult{Stdout: []byte("proj-a-gfs2\n")}
	fmt.Println(ok.Err())
	// Output:
	// command exited with status 2: cat: /etc/site/inventory: No such file or directory
	// command timed out
	// <nil>
}

// Request.Config is the strategy's own section of the agent configuration
// (strategies.<name>.config), decoded from JSON. The typed getters fall back
// to a default when a key is missing or has another type.
func ExampleRequest_ConfigString() {
	req := plugin.Request{Config: map[string]any{"namespace": "nnf-system", "empty": ""}}
	fmt.Println(req.ConfigString("namespace", "default"))
	fmt.Println(req.ConfigString("empty", "default"))
	fmt.Println(req.ConfigString("missing", "default"))
	// Output:
	// nnf-system
	// default
	// default
}

func ExampleRequest_ConfigBool() {
	req := plugin.Request{Config: map[string]any{"patterns": false, "quoted": "false"}}
	fmt.Println(req.ConfigBool("patterns", true))
	fmt.Println(req.ConfigBool("quoted", true)) // a string is not a bool
	// Output:
	// false
	// true
}

func ExampleRequest_ConfigStrings() {
	// YAML "fstypes: [gfs2, gfs]" arrives as a JSON list.
	req := plugin.Request{Config: map[string]any{"fstypes": []any{"gfs2", "gfs"}, "mixed": []any{"gfs2", 1.0}}}
	fmt.Println(req.ConfigStrings("fstypes", []string{"gfs2"}))
	fmt.Println(req.ConfigStrings("mixed", []string{"gfs2"})) // not all strings: the default
	// Output:
	// [gfs2 gfs]
	// [gfs2]
}

// A Logger formats key/value pairs without fmt; values with spaces or
// quotes are quoted so one call stays one parseable line.
func ExampleLogger() {
	log := plugin.NewLogger(func(l plugin.Level, line string) { fmt.Println(l, line) })
	log.Info("inventory read", "entries", 12, "file", "/etc/site/inventory")
	log.Warn("line skipped", "problem", `bad pattern "compute-["`)
	log.Error("giving up", "err", errors.New("exit 1"), "dangling")
	// Output:
	// 0 inventory read entries=12 file=/etc/site/inventory
	// 4 line skipped problem="bad pattern \"compute-[\""
	// 8 giving up err="exit 1" dangling=!MISSING
}

// Levels have log/slog's numeric values, so the host maps them one to one;
// debug lines reach the operational log only with verbose: true.
func ExampleLevel() {
	fmt.Println(plugin.LevelDebug, plugin.LevelInfo, plugin.LevelWarn, plugin.LevelError)
	// Output: -4 0 4 8
}

// exampleT stands in for the *testing.T a real test passes to
// plugintest.NewContext: it prints what the fake context reports.
type exampleT struct{ testing.TB }

func (exampleT) Helper() {}

func (exampleT) Errorf(format string, args ...any) { fmt.Printf("test error: "+format+"\n", args...) }
