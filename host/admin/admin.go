// Package admin implements `fence_gfs2_recorder plugins ...`: the commands an
// administrator uses to see which strategy modules the agent would load,
// check a module before installing it, warm the compile cache after an
// install or upgrade, and run one strategy by hand against a node.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/host"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/nodename"
)

const usage = `usage: fence_gfs2_recorder plugins COMMAND

commands:
  list                          configured strategies in chain order (and site
                                drop-ins not in the order): source, ABI, verified or why not;
                                then the reporters with their backlog
  verify FILE                   check a .wasm before installing it
  warm                          compile every configured strategy into the cache
  run NAME|FILE --node NODE [--action ACTION] [--json]
                                run one strategy now and show its answer, every
                                command it ran with its duration, and its logs
`

// Main runs one plugins subcommand and returns the process exit code: 0 on
// success, 1 when the command ran and found a problem, 2 on bad usage. A
// leading "plugins" in args is accepted.
func Main(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "plugins" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "list":
		return list(ctx, cfg, args[1:], stdout, stderr)
	case "verify":
		return verify(ctx, cfg, args[1:], stdout, stderr)
	case "warm":
		return warm(ctx, cfg, args[1:], stdout, stderr)
	case "run":
		return run(ctx, cfg, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "plugins: unknown command %q\n%s", args[0], usage)
	return 2
}

func noArgs(cmd string, args []string, stderr io.Writer) bool {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "plugins %s: unexpected arguments %q\n%s", cmd, args, usage)
		return false
	}
	return true
}

func list(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer) int {
	if !noArgs("list", args, stderr) {
		return 2
	}
	statuses := host.Inspect(ctx, cfg, nil)
	inOrder := map[string]bool{}
	for _, name := range cfg.Discovery.Order {
		inOrder[name] = true
	}
	for _, p := range dropIns(cfg.PluginDir) {
		name := strings.TrimSuffix(filepath.Base(p), ".wasm")
		if !inOrder[name] {
			st := host.InspectFile(ctx, cfg, name, p)
			st.Kind = host.KindPluginDir
			statuses = append(statuses, st)
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORDER\tNAME\tABI\tSTATUS\tSOURCE\tSDK")
	bad := 0
	for i, st := range statuses {
		order := fmt.Sprint(i + 1)
		if !inOrder[st.Name] {
			order = "-"
		}
		abi := "-"
		if st.ABI != 0 {
			abi = fmt.Sprint(st.ABI)
		}
		status := "verified"
		if st.Err != nil {
			status = "NOT VERIFIED"
			bad++
		}
		src := st.Path
		if st.Kind != "" {
			src += " (" + st.Kind + ")"
		}
		if src == "" {
			src = "-"
		}
		sdk := st.SDK
		if sdk == "" {
			sdk = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", order, st.Name, abi, status, src, sdk)
	}
	tw.Flush()
	for _, st := range statuses {
		if st.Err != nil {
			fmt.Fprintf(stdout, "\n%s: %v\n", st.Name, st.Err)
		}
	}
	if !cfg.Discovery.Enabled {
		fmt.Fprintln(stdout, "\nnote: discovery is disabled (discovery.enabled=false); no strategy runs on a fence")
	}
	bad += listReporters(ctx, cfg, stdout, time.Now())
	if bad > 0 {
		return 1
	}
	return 0
}

// dropIns lists plugin_dir/*.wasm, sorted.
func dropIns(dir string) []string {
	if dir == "" {
		return nil
	}
	m, _ := filepath.Glob(filepath.Join(dir, "*.wasm"))
	sort.Strings(m)
	return m
}

func verify(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintf(stderr, "plugins verify: want exactly one FILE\n%s", usage)
		return 2
	}
	file := args[0]
	st := host.InspectFile(ctx, cfg, nameFromFile(file), file)
	// A module serving several strategies (builtin.wasm) is not named
	// after any of them: check it as the first it serves.
	var ns *host.NotServedError
	if errors.As(st.Err, &ns) {
		st = host.InspectFile(ctx, cfg, ns.Serves[0], file)
	}
	reporters, rerr := host.InspectReporterFile(ctx, cfg, nameFromFile(file), file)
	if st.Err != nil && rerr == nil {
		// A reporter-only module: no fgr_discover, and none needed.
		fmt.Fprintf(stdout, "verified: %s: reporters %s\n", file, strings.Join(reporters, ", "))
		return 0
	}
	if st.Err != nil {
		fmt.Fprintf(stderr, "NOT VERIFIED: %v\n", st.Err)
		return 1
	}
	what := fmt.Sprintf("strategy %q", st.GuestName)
	if len(st.Strategies) > 1 {
		what = "strategies " + strings.Join(st.Strategies, ", ")
	}
	if rerr == nil {
		what += "; reporters " + strings.Join(reporters, ", ")
	}
	fmt.Fprintf(stdout, "verified: %s: ABI %d, %s, sdk %q, compiled in %s%s\n",
		file, st.ABI, what, st.SDK, st.CompileTime.Round(time.Millisecond), needsNote(st.Needs))
	return 0
}

// needsNote says which commands a strategy declares it needs ("a|b": either).
func needsNote(needs [][]string) string {
	if len(needs) == 0 {
		return ""
	}
	parts := make([]string, len(needs))
	for i, oneOf := range needs {
		parts[i] = strings.Join(oneOf, "|")
	}
	return "; needs " + strings.Join(parts, ", ")
}

// nameFromFile derives a strategy name from a module file name, so a module
// dropped in as site-inventory.wasm is checked under site-inventory's settings.
func nameFromFile(file string) string {
	name := strings.TrimSuffix(filepath.Base(file), ".wasm")
	if _, err := host.Resolve(&config.Config{}, name); err != nil && strings.Contains(err.Error(), "invalid strategy name") {
		return "plugin"
	}
	return name
}

func warm(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer) int {
	if !noArgs("warm", args, stderr) {
		return 2
	}
	start := time.Now()
	statuses, err := host.Warm(ctx, cfg)
	for _, st := range statuses {
		switch {
		case st.Err != nil:
		case st.Shared:
			fmt.Fprintf(stdout, "warmed %s (%s, already compiled above)\n", st.Name, st.Path)
		default:
			fmt.Fprintf(stdout, "warmed %s (%s) in %s\n", st.Name, st.Path, st.CompileTime.Round(time.Millisecond))
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "plugins warm: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "cache %s warm for %d strategies in %s\n", cfg.CacheDir, len(statuses), time.Since(start).Round(time.Millisecond))
	return 0
}

func run(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plugins run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	node := fs.String("node", "", "target node (required)")
	action := fs.String("action", "run", "fence action passed to the strategy")
	asJSON := fs.Bool("json", false, "print the attempt as JSON")
	// Accept the strategy before or after the flags.
	var target string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		target, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if target == "" && fs.NArg() == 1 {
		target = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "plugins run: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if target == "" || *node == "" {
		fmt.Fprintf(stderr, "plugins run: want a strategy NAME or FILE and --node NODE\n%s", usage)
		return 2
	}
	if err := nodename.Validate(*node); err != nil {
		fmt.Fprintf(stderr, "plugins run: %v\n", err)
		return 2
	}

	// The guest's logs are printed with the attempt; stderr gets only the
	// host's own warnings (an unusable cache directory, say).
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src := host.NewSource(cfg, logger)
	defer src.Close(context.WithoutCancel(ctx))
	if cfg.Discovery.Budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Discovery.Budget)
		defer cancel()
	}
	start := time.Now()
	var strat discovery.Strategy
	var err error
	name := target
	if isFile(target) {
		name = nameFromFile(target)
		strat, err = src.LoadFile(ctx, name, target)
	} else {
		strat, err = src.Strategy(ctx, target)
	}
	var a discovery.Attempt
	if err != nil {
		a = discovery.Attempt{Strategy: name, Outcome: discovery.OutcomeLoadError, Error: err.Error()}
	} else {
		a = strat.Discover(ctx, discovery.Target{Node: *node, Action: *action})
	}
	a.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(attemptJSON{Attempt: a, Logs: a.Logs}); err != nil {
			fmt.Fprintf(stderr, "plugins run: %v\n", err)
			return 1
		}
	} else {
		printAttempt(stdout, a)
	}
	switch a.Outcome {
	case discovery.OutcomeFound, discovery.OutcomeEmpty:
		return 0
	}
	return 1
}

// attemptJSON shows the logs, which the record format leaves out.
type attemptJSON struct {
	discovery.Attempt
	Logs []discovery.LogLine `json:"logs,omitempty"`
}

func isFile(s string) bool {
	return strings.ContainsRune(s, os.PathSeparator) || strings.HasSuffix(s, ".wasm")
}

func printAttempt(w io.Writer, a discovery.Attempt) {
	fmt.Fprintf(w, "strategy:    %s\n", a.Strategy)
	if a.Source != "" {
		fmt.Fprintf(w, "source:      %s\n", a.Source)
	}
	fmt.Fprintf(w, "outcome:     %s (%.1f ms)\n", a.Outcome, a.DurationMS)
	if a.Error != "" {
		fmt.Fprintf(w, "error:       %s\n", a.Error)
	}
	fmt.Fprintf(w, "filesystems: %s\n", strings.Join(a.Filesystems, " "))
	if len(a.Details) > 0 {
		b, err := json.MarshalIndent(a.Details, "             ", "  ")
		if err != nil {
			b = []byte(err.Error())
		}
		fmt.Fprintf(w, "details:     %s\n", b)
	}
	for i, c := range a.Calls {
		var flags []string
		for _, f := range []struct {
			on   bool
			name string
		}{{c.Denied, "DENIED"}, {c.TimedOut, "TIMED OUT"}, {c.Truncated, "truncated"}} {
			if f.on {
				flags = append(flags, f.name)
			}
		}
		fmt.Fprintf(w, "call %d:      %s %s -> exit %d in %.1f ms", i+1, c.Command, strings.Join(c.Args, " "), c.ExitCode, c.DurationMS)
		if len(flags) > 0 {
			fmt.Fprintf(w, " [%s]", strings.Join(flags, ", "))
		}
		fmt.Fprintln(w)
		if c.Error != "" {
			fmt.Fprintf(w, "             error: %s\n", c.Error)
		}
		if c.Stderr != "" {
			stderr := strings.TrimRight(c.Stderr, "\n")
			fmt.Fprintf(w, "             stderr: %s\n", strings.ReplaceAll(stderr, "\n", "\n                     "))
		}
	}
	for _, l := range a.Logs {
		fmt.Fprintf(w, "log %-5s    %s\n", l.Level, l.Msg)
	}
}
