// Command tester is a test strategy whose behaviour the request's config
// picks ("mode"), so one Go guest covers every sandbox case in the host's
// tests: it answers, runs commands, loops, sleeps, leaks memory, panics,
// exits, pokes at the file system and the environment, and logs.
package main

import (
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

func init() { plugin.Register("tester", discover) }

func main() {}

var hoard [][]byte

func discover(ctx plugin.Context, req plugin.Request) (plugin.Result, error) {
	fs := req.ConfigStrings("filesystems", nil)
	details := map[string]any{"node": req.Node, "action": req.Action}
	mode := req.ConfigString("mode", "echo")
	if mode == "bynode" {
		// The target node picks the mode, so one loaded strategy can be
		// made to crash on one call and answer on the next.
		mode = req.Node
	}
	switch mode {
	case "echo":
		return plugin.Result{Filesystems: fs, Details: details}, nil
	case "exec":
		args := req.ConfigStrings("args", nil)
		if req.ConfigBool("node_arg", false) {
			args = append(args, req.Node)
		}
		res, err := ctx.Exec(req.ConfigString("command", ""), args...)
		if err != nil {
			details["denied"] = errors.Is(err, plugin.ErrDenied)
			return plugin.Result{Details: details}, err
		}
		details["exit_code"] = res.ExitCode
		details["stdout_len"] = len(res.Stdout)
		details["stderr_len"] = len(res.Stderr)
		details["stdout_head"] = head(res.Stdout, 200)
		details["stdout_truncated"] = res.StdoutTruncated
		details["timed_out"] = res.TimedOut
		if err := res.Err(); err != nil {
			return plugin.Result{Details: details}, err
		}
		return plugin.Result{Filesystems: fs, Details: details}, nil
	case "loop":
		n := 0
		for {
			n++
		}
	case "sleep":
		d, _ := time.ParseDuration(req.ConfigString("duration", "1s"))
		time.Sleep(d)
		return plugin.Result{Filesystems: fs}, nil
	case "membomb":
		for {
			hoard = append(hoard, make([]byte, 1<<20))
		}
	case "panic":
		panic("boom from tester")
	case "exit":
		os.Exit(3)
		return plugin.Result{}, nil
	case "passwd":
		b, err := os.ReadFile("/etc/passwd")
		if err != nil {
			return plugin.Result{}, errors.New("read /etc/passwd: " + err.Error())
		}
		return plugin.Result{Filesystems: []string{"leaked"}, Details: map[string]any{"bytes": len(b)}}, nil
	case "env":
		details["environ"] = len(os.Environ())
		details["args"] = len(os.Args)
		return plugin.Result{Filesystems: fs, Details: details}, nil
	case "log":
		lg := ctx.Logger()
		lg.Debug("debug line", "n", 1)
		lg.Info("info line", "node", req.Node)
		lg.Warn("warn line")
		lg.Error("error line", "err", errors.New("bad thing"))
		return plugin.Result{Filesystems: fs}, nil
	case "logflood":
		n, _ := strconv.Atoi(req.ConfigString("count", "1500"))
		pad := req.ConfigString("pad", "")
		for i := 0; i < n; i++ {
			ctx.Logger().Info("flood " + strconv.Itoa(i) + pad)
		}
		return plugin.Result{Filesystems: fs}, nil
	case "stderr":
		os.Stderr.WriteString("guest says hello on stderr\n")
		return plugin.Result{Filesystems: fs}, nil
	default:
		return plugin.Result{}, errors.New("tester: unknown mode " + mode)
	}
}

func head(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
