// Command demo is `make demo`: the built agent records two fence events
// into a fresh temporary directory, with discovery answering from the
// project's test data instead of a cluster.
//
//   - kubectl-nnf: the loopback fake NNF API server (internal/fakekube,
//     with the shipped fixtures) answers the real kubectl, when installed,
//     through a kubeconfig written into the temporary directory.
//   - pcs-status, pcs-config: the real crm_mon and cibadmin read a copy of
//     a recorded CIB (CIB_file) when installed; otherwise, and for pcs,
//     stand-in commands print the outputs recorded from the real tools
//     (testdata/pacemaker), whatever arguments they are given.
//
// The first event fences a node that uses GFS2 filesystems; the second one
// with nothing mounted, which is recorded as none-detected. Then the
// README's jq queries run on the demo's own log. Nothing outside the
// temporary directory is written.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
)

// The nodes fenced: compute-node-3 mounts two GFS2 filesystems in the NNF
// fixtures and is UNCLEAN with two active in the node-lost CIB;
// compute-node-6 has nothing mounted in either.
const (
	usingNode = "compute-node-3"
	idleNode  = "compute-node-6"
	scenario  = "node-lost"
)

func main() {
	agent := flag.String("agent", "bin/fence_gfs2_recorder", "the built agent (its built-in strategies next to it in plugins/)")
	withoutTools := flag.Bool("without-tools", false, "act as if kubectl and the Pacemaker tools were not installed (a fresh machine)")
	flag.Parse()
	if err := run(*agent, *withoutTools, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(agent string, withoutTools bool, out io.Writer) error {
	agent, err := filepath.Abs(agent)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "fence_gfs2_recorder-demo.")
	if err != nil {
		return err
	}
	// The fake API server's own complaints (kubectl closing a connection
	// early) go to a file, not between the demo's lines.
	serverLog, err := os.Create(filepath.Join(dir, "fakekube.log"))
	if err != nil {
		return err
	}
	defer serverLog.Close()
	log.SetOutput(serverLog)
	kube, err := fakekube.Start(fakekube.Options{})
	if err != nil {
		return err
	}
	defer kube.Close()
	cfg, notes, err := writeConfig(dir, kube, withoutTools)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "== demo directory %s (nothing is written outside it)\n", dir)
	for _, n := range notes {
		fmt.Fprintln(out, "== "+n)
	}
	// As the packages do after install: a fence then loads the strategies
	// from the compile cache instead of compiling them within its fence
	// wait (a cold compile takes longer than discovery.fence_wait).
	fmt.Fprintln(out, "\n== fence_gfs2_recorder plugins warm (the packages run it after install)")
	if err := warm(agent, dir, cfg, out); err != nil {
		return err
	}
	log := filepath.Join(dir, "log", "fence-events-detailed.jsonl")
	for i, node := range []string{usingNode, idleNode} {
		what := "a node using GFS2 filesystems"
		if node == idleNode {
			what = "a node with nothing mounted: every strategy finds nothing"
		}
		fmt.Fprintf(out, "\n== fence %d: reboot %s (%s)\n", i+1, node, what)
		if err := fence(agent, dir, cfg, node, out); err != nil {
			return err
		}
		rec, err := lastRecord(log)
		if err != nil {
			return err
		}
		summarize(out, rec)
	}
	fmt.Fprintf(out, "\n== %s\n", filepath.Join(dir, "log", "fence-events-readable.log"))
	readable, err := os.ReadFile(filepath.Join(dir, "log", "fence-events-readable.log"))
	if err != nil {
		return err
	}
	out.Write(readable)
	fmt.Fprintf(out, "\n== the first record as written to %s\n", log)
	if err := printFirstRecord(out, log); err != nil {
		return err
	}
	fmt.Fprintln(out, "\n== the README's queries, on this log (F="+log+")")
	return readmeQueries(out, log, dir)
}

// writeConfig grants each strategy what answers here and returns the config
// file and what was chosen.
func writeConfig(dir string, kube *fakekube.Server, withoutTools bool) (string, []string, error) {
	kubeconfig, err := kube.WriteKubeconfig(filepath.Join(dir, "kube"))
	if err != nil {
		return "", nil, err
	}
	recorded := filepath.Join(repoRoot(), "testdata", "pacemaker", scenario)
	cib := filepath.Join(dir, "cib.xml")
	if err := copyFile(filepath.Join(recorded, "cib.xml"), cib); err != nil {
		return "", nil, err
	}
	var notes []string
	installed := func(path string) bool {
		_, err := os.Stat(path)
		return err == nil && !withoutTools
	}
	kubectl := config.DefaultKubectlPath
	if !installed(kubectl) {
		kubectl = filepath.Join(dir, "not-installed", "kubectl")
	}
	if installed(kubectl) {
		notes = append(notes, "kubectl-nnf: the real "+kubectl+" against the fake NNF API server at "+kube.URL())
	} else {
		notes = append(notes, "kubectl-nnf: /usr/bin/kubectl is not installed (the kubectl package), so it fails and the pcs strategies answer")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "log_dir: %q\ncache_dir: %q\nplugin_dir: %q\n", filepath.Join(dir, "log"), filepath.Join(dir, "cache"), filepath.Join(dir, "plugins.d"))
	fmt.Fprintf(&b, "strategies:\n  kubectl-nnf:\n    config:\n      cache_dir: %q\n", filepath.Join(dir, "cache", "kube"))
	fmt.Fprintf(&b, "commands:\n  kubectl:\n    path: %q\n    set_env:\n      KUBECONFIG: %q\n      HOME: %q\n", kubectl, kubeconfig, dir)
	if installed("/usr/sbin/crm_mon") && installed("/usr/sbin/cibadmin") {
		notes = append(notes, "pcs-status, pcs-config: the real crm_mon and cibadmin reading a copy of testdata/pacemaker/"+scenario+"/cib.xml")
		for _, tool := range []string{"crm_mon", "cibadmin"} {
			fmt.Fprintf(&b, "  %s:\n    path: /usr/sbin/%s\n    set_env:\n      CIB_file: %q\n", tool, tool, cib)
		}
	} else {
		notes = append(notes, "pcs-status, pcs-config: crm_mon and cibadmin are not installed (pacemaker-cli-utils): stand-ins print the outputs recorded in testdata/pacemaker/"+scenario)
		standIn(&b, "crm_mon", recorded, `exec cat "$0/crm_mon-1-xml-inactive.xml"`)
		standIn(&b, "cibadmin", recorded, `case "$*" in *configuration*) exec cat "$0/cibadmin-Q-configuration.xml";; esac; exec cat "$0/cibadmin-Q.xml"`)
	}
	// pcs is only the fallback of both; its stand-in knows its three uses.
	standIn(&b, "pcs", recorded, `case "$*" in "status xml") exec cat "$0/pcs-status-xml.xml";; "cluster cib") exec cat "$0/cibadmin-Q.xml";; `+
		`"status resources") exec cat "$0/pcs-status-resources.txt";; esac; echo "demo stand-in: no recorded output of pcs $*" >&2; exit 1`)
	cfg := filepath.Join(dir, "config.yaml")
	return cfg, notes, os.WriteFile(cfg, []byte(b.String()), 0o600)
}

// standIn defines command name as a shell script that prints recorded
// outputs from dir ($0); the arguments the strategy passes are $1...
func standIn(b *strings.Builder, name, dir, script string) {
	fmt.Fprintf(b, "  %s:\n    path: /bin/sh\n    args: [\"-c\", %q, %q]\n", name, script, dir)
}

// agentEnv is the minimal environment pacemaker-fenced gives an agent, with
// the demo's configuration file.
func agentEnv(dir, cfg string) []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir, config.EnvConfigFile + "=" + cfg}
}

// warm fills the demo's compile cache.
func warm(agent, dir, cfg string, out io.Writer) error {
	cmd := exec.Command(agent, "plugins", "warm")
	cmd.Env = agentEnv(dir, cfg)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("plugins warm: %w", err)
	}
	return nil
}

// fence runs the agent the way pacemaker-fenced does: no arguments,
// key=value lines on stdin, a minimal environment.
func fence(agent, dir, cfg, node string, out io.Writer) error {
	cmd := exec.Command(agent)
	cmd.Stdin = strings.NewReader("nodename=" + node + "\naction=reboot\nport=" + node + "\n")
	cmd.Env = agentEnv(dir, cfg)
	stderr := filepath.Join(dir, "stderr.txt")
	f, err := os.OpenFile(stderr, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd.Stderr = f
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return fmt.Errorf("the agent exited %d (pacemaker-fenced would count the fence failed); its stderr: %s", exit.ExitCode(), stderr)
	case err != nil:
		return err
	}
	fmt.Fprintln(out, "exit code 0 (pacemaker-fenced treats 0 as success)")
	return nil
}

type record struct {
	TargetNode  string   `json:"target_node"`
	Filesystems []string `json:"gfs2_filesystems"`
	Discovery   struct {
		Strategy   string  `json:"strategy"`
		DurationMS float64 `json:"duration_ms"`
		Attempts   []struct {
			Strategy    string   `json:"strategy"`
			Outcome     string   `json:"outcome"`
			DurationMS  float64  `json:"duration_ms"`
			Filesystems []string `json:"filesystems"`
			Error       string   `json:"error"`
			Calls       []struct {
				Command string   `json:"command"`
				Args    []string `json:"args"`
			} `json:"calls"`
		} `json:"attempts"`
	} `json:"discovery"`
}

func lastRecord(path string) (record, error) {
	lines, err := readLines(path)
	if err != nil || len(lines) == 0 {
		return record{}, fmt.Errorf("no record in %s: %v", path, err)
	}
	var r record
	return r, json.Unmarshal(lines[len(lines)-1], &r)
}

func readLines(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	return lines, sc.Err()
}

// summarize prints what the record says discovery did, strategy by strategy.
func summarize(out io.Writer, r record) {
	fmt.Fprintf(out, "recorded: target_node=%s gfs2_filesystems=%s (discovery %.0f ms)\n",
		r.TargetNode, strings.Join(r.Filesystems, ","), r.Discovery.DurationMS)
	for _, a := range r.Discovery.Attempts {
		fmt.Fprintf(out, "  %-12s %-9s %6.1f ms", a.Strategy, a.Outcome, a.DurationMS)
		if len(a.Filesystems) > 0 {
			fmt.Fprintf(out, "  filesystems: %s", strings.Join(a.Filesystems, " "))
		}
		for _, c := range a.Calls {
			fmt.Fprintf(out, "\n               ran: %s %s", c.Command, strings.Join(c.Args, " "))
		}
		if a.Error != "" {
			msg := a.Error
			if len(msg) > 160 {
				msg = msg[:160] + "..."
			}
			fmt.Fprintf(out, "\n               %s", msg)
		}
		fmt.Fprintln(out)
	}
}

func printFirstRecord(out io.Writer, path string) error {
	lines, err := readLines(path)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, lines[0], "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = out.Write(buf.Bytes())
	return err
}

// readmeQueries runs the jq lines of the README's Queries block with F set
// to the demo's log, so the README's examples are shown working.
func readmeQueries(out io.Writer, log, dir string) error {
	readme, err := os.ReadFile(filepath.Join(repoRoot(), "README.md"))
	if err != nil {
		return err
	}
	queries := jqLines(string(readme))
	if len(queries) == 0 {
		return errors.New("README.md has no jq lines after \"Queries:\"")
	}
	jq, err := exec.LookPath("jq")
	if err != nil {
		fmt.Fprintf(out, "(jq is not installed (the jq package): skipping the %d queries)\n", len(queries))
		return nil
	}
	for _, q := range queries {
		fmt.Fprintf(out, "$ %s\n", q)
		cmd := exec.Command("/bin/sh", "-c", q)
		cmd.Env = []string{"PATH=" + filepath.Dir(jq) + ":/usr/bin:/bin", "F=" + log, "HOME=" + dir}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("README query %q: %v", q, err)
		}
	}
	return nil
}

// jqLines are the README's query lines: from "Queries:" to the end of the
// code block after it, each jq command without its trailing comment.
func jqLines(readme string) []string {
	_, rest, ok := strings.Cut(readme, "\nQueries:\n")
	if !ok {
		return nil
	}
	_, block, _ := strings.Cut(rest, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	var qs []string
	for _, l := range strings.Split(block, "\n") {
		if !strings.HasPrefix(l, "jq ") {
			continue
		}
		if i := strings.Index(l, "   #"); i > 0 {
			l = l[:i]
		}
		qs = append(qs, strings.TrimSpace(l))
	}
	return qs
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}

// repoRoot is the checkout this program's source is in: `go run` keeps the
// source path.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
