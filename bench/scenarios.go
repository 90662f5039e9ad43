package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
)

// Fixtures (repository-relative; make bench runs from the repository root).
const (
	kubectlFound = "testdata/nnf/fixtures/clientmounts/compute-node-3.json" // kubectl-nnf: found via labels, one call
	pcmkScenario = "testdata/pacemaker/dlm-two-gfs2"                        // compute-node-4: nothing active, two configured
)

// lab is the temporary world one bench run lives in.
type lab struct {
	dir      string
	agent    string
	plugins  string
	separate string // one module per built-in strategy (bench/separate), for the lever-off rows
	stub     string
	emptyKL  string // an empty kubectl List
	python   string
	kubectl  string // "" without /usr/bin/kubectl
	results  []stats
	notes    []string
	sf       *sfResult
}

// sfOptions configures the storage-fence scenarios (bench/storagefence.go).
type sfOptions struct {
	latencyRuns int
	upstream    string
}

func run(binDir string, runs, coldRuns, storm int, out, only string, sf sfOptions) error {
	l := &lab{agent: mustAbs(filepath.Join(binDir, "fence_gfs2_recorder")), plugins: mustAbs(filepath.Join(binDir, "plugins"))}
	for _, f := range []string{l.agent, filepath.Join(l.plugins, "builtin.wasm"), kubectlFound, pcmkScenario} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%v (run from the repository root after make build)", err)
		}
	}
	var err error
	if l.dir, err = os.MkdirTemp("", "fgr-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(l.dir)
	l.stub = filepath.Join(l.dir, "stub")
	if b, err := exec.Command("go", "build", "-o", l.stub, "./bench/stub").CombinedOutput(); err != nil {
		return fmt.Errorf("build stub: %v\n%s", err, b)
	}
	l.separate = filepath.Join(l.dir, "separate")
	for _, name := range []string{"kubectl-nnf", "pcs-status", "pcs-config"} {
		out := filepath.Join(l.separate, name+".wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, "./bench/separate/"+name)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build bench/separate/%s: %v\n%s", name, err, b)
		}
		if err := os.Chmod(out, 0o644); err != nil {
			return err
		}
	}
	l.emptyKL = filepath.Join(l.dir, "empty-list.json")
	if err := os.WriteFile(l.emptyKL, []byte(`{"apiVersion":"v1","items":[],"kind":"List","metadata":{"resourceVersion":""}}`+"\n"), 0o644); err != nil {
		return err
	}
	// The interpreter fence-agents' scripts run (#!/usr/bin/python3), not
	// whatever python3 comes first on the harness's PATH: a pyenv shim, say,
	// is a shell script that more than triples the start-up.
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		l.python = "/usr/bin/python3"
	} else {
		l.python, _ = exec.LookPath("python3")
	}
	if _, err := os.Stat("/usr/bin/kubectl"); err == nil {
		l.kubectl = "/usr/bin/kubectl"
	}

	steps := []struct {
		name string
		run  func() error
	}{
		{"baselines", func() error { return l.baselines(runs) }},
		{"1", func() error { return l.metadataAndDisabled(runs) }},
		{"3", func() error { return l.firstAnswers(runs) }},
		{"4", func() error { return l.allThree(runs) }},
		{"5", func() error { return l.coldCache(coldRuns) }},
		{"6", func() error { return l.realKubectl(runs) }},
		{"D", func() error { return l.deferred(runs) }},
		{"R", func() error { return l.reporting(runs) }},
		{"P", func() error { return l.partition(runs) }},
		{"7", func() error { return l.storm(storm) }},
		{"S", func() error { return l.coldStorm(storm) }},
		{"F", func() error { return l.storageFence(runs, sf.latencyRuns, sf.upstream) }},
	}
	selected := strings.Split(only, ",")
	for _, s := range steps {
		if only != "" && !slices.Contains(selected, s.name) {
			continue
		}
		if err := s.run(); err != nil {
			return err
		}
	}
	if only != "" {
		l.notes = append(l.notes, "only the steps "+only+" were run")
	}
	report := l.report(runs)
	fmt.Print(report)
	if out != "" {
		return os.WriteFile(out, []byte(report), 0o644)
	}
	return nil
}

// fencedEnv is the environment pacemaker-fenced gives an agent, plus the
// configuration file.
func fencedEnv(cfg string, extra ...string) []string {
	return append([]string{"LANG=C", "LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"PCMK_service=pacemaker-fenced", "FENCE_GFS2_RECORDER_CONFIG=" + cfg}, extra...)
}

// scenario is one agent configuration.
type scenario struct {
	name  string
	order []string
	mode  string
	// hedgeAfter, when set, is discovery.hedge_after ("0s": the chain of
	// before hedging, one strategy at a time).
	hedgeAfter string
	stubs      map[string]string // command -> file the stub prints
	extra      string            // more YAML under commands:
	// separate loads each built-in strategy from a module of its own
	// (bench/separate) instead of the one built-in module.
	separate bool
	logDir   string
	cfg      string
	cacheDir string // "" is the lab's shared cache
}

// write creates the scenario's config file (log_dir, cache, built-ins,
// commands all pointed at the stub or /bin/false).
func (l *lab) write(s *scenario) error {
	s.logDir = filepath.Join(l.dir, "log-"+s.name)
	s.cfg = filepath.Join(l.dir, s.name+".yaml")
	mode := s.mode
	if mode == "" {
		mode = "inline"
	}
	var b strings.Builder
	cache := s.cacheDir
	if cache == "" {
		cache = filepath.Join(l.dir, "cache")
	}
	fmt.Fprintf(&b, "log_dir: %s\ncache_dir: %s\nbuiltin_dir: %s\nrecorder_node: rabbit-node-1\n", s.logDir, cache, l.plugins)
	fmt.Fprintf(&b, "discovery:\n  mode: %s\n  order: [%s]\n", mode, strings.Join(s.order, ", "))
	if s.hedgeAfter != "" {
		fmt.Fprintf(&b, "  hedge_after: %s\n", s.hedgeAfter)
	}
	b.WriteString("commands:\n")
	for _, c := range []string{"kubectl", "crm_mon", "cibadmin", "pcs"} {
		if f, ok := s.stubs[c]; ok {
			fmt.Fprintf(&b, "  %s:\n    path: %s\n    set_env: {FGR_STUB_OUT: %s}\n", c, l.stub, mustAbs(f))
		} else if c != "kubectl" || s.extra == "" {
			fmt.Fprintf(&b, "  %s:\n    path: /bin/false\n", c)
		}
	}
	b.WriteString(s.extra)
	if s.separate {
		b.WriteString("strategies:\n")
		for _, name := range s.order {
			fmt.Fprintf(&b, "  %s:\n    file: %s\n", name, filepath.Join(l.separate, name+".wasm"))
		}
	}
	return os.WriteFile(s.cfg, []byte(b.String()), 0o600)
}

func fence(target string) string {
	return "nodename=" + target + "\naction=reboot\nport=" + target + "\n"
}

// reboot is the agent with s's configuration run as pacemaker-fenced runs
// it for a reboot of target, with env added to fenced's environment.
func (l *lab) reboot(s *scenario, target string, env ...string) proc {
	return proc{path: l.agent, env: fencedEnv(s.cfg, env...), stdin: fence(target)}
}

func (l *lab) add(st stats, err error) error {
	if err != nil {
		return err
	}
	l.results = append(l.results, st)
	fmt.Fprintf(os.Stderr, "%-48s %8.1f ms [%.1f-%.1f] cpu %.1f ms rss %.1f MiB\n", st.name,
		msf(st.wall[0]), msf(st.wall[1]), msf(st.wall[2]), msf(st.cpu), mib(st.rss[0]))
	return nil
}

func (l *lab) baselines(runs int) error {
	if l.python != "" {
		if err := l.add(repeat("baseline: python3 imports", runs,
			proc{path: l.python, args: []string{"-c", "import subprocess,json,logging,socket"}, env: fencedEnv("")}, nil)); err != nil {
			return err
		}
	} else {
		l.notes = append(l.notes, "python3 not installed: no Python baseline")
	}
	return l.add(repeat("baseline: trivial native Go binary", runs, proc{path: l.stub, env: fencedEnv("")}, nil))
}

func (l *lab) metadataAndDisabled(runs int) error {
	if err := l.add(repeat("1. -o metadata", runs, proc{path: l.agent, args: []string{"-o", "metadata"}, env: fencedEnv("")}, nil)); err != nil {
		return err
	}
	s := &scenario{name: "disabled", order: []string{"kubectl-nnf"}, extra: "  kubectl:\n    path: /bin/false\n"}
	if err := l.write(s); err != nil {
		return err
	}
	return l.add(repeat("2. reboot, discovery disabled", runs,
		proc{path: l.agent, env: fencedEnv(s.cfg), stdin: fence("compute-node-3") + "gfs2_discovery=0\n"}, nil))
}

// firstAnswersScenario: kubectl-nnf answers at once (stub kubectl), the
// other two are never loaded.
func (l *lab) firstAnswersScenario(name, mode string) *scenario {
	return &scenario{name: name, mode: mode, order: []string{"kubectl-nnf", "pcs-status", "pcs-config"},
		stubs: map[string]string{"kubectl": kubectlFound}}
}

func (l *lab) allThreeScenario(name string) *scenario {
	return &scenario{name: name, order: []string{"kubectl-nnf", "pcs-status", "pcs-config"},
		stubs: map[string]string{"kubectl": l.emptyKL,
			"crm_mon":  filepath.Join(pcmkScenario, "crm_mon-1-xml-inactive.xml"),
			"cibadmin": filepath.Join(pcmkScenario, "cibadmin-Q-configuration.xml")}}
}

// warm fills the compile cache the way postinst does.
func (l *lab) warm(s *scenario) error {
	cmd := exec.Command(l.agent, "plugins", "warm")
	cmd.Env = fencedEnv(s.cfg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("plugins warm: %v\n%s", err, b)
	}
	return nil
}

func (l *lab) firstAnswers(runs int) error {
	s := l.firstAnswersScenario("first", "")
	if err := l.write(s); err != nil {
		return err
	}
	if err := l.warm(s); err != nil {
		return err
	}
	p := l.reboot(s, "compute-node-3")
	if err := l.add(repeat("3. reboot, first strategy answers", runs, p, nil)); err != nil {
		return err
	}
	if err := l.expect(s.logDir, "compute-node-3", "kubectl-nnf", []string{"default/fluxjob-102-0", "default/projgfs"}); err != nil {
		return err
	}
	l.answerTime(s.logDir, "stub kubectl (scenario 3)")
	if err := l.add(repeat("3. (lever off: host GC on, GOGC=100)", runs, l.reboot(s, "compute-node-3", "GOGC=100"), nil)); err != nil {
		return err
	}
	// The same fence with the defaults (bounded mode, fence_wait 1 s,
	// hedge_after 250 ms): the chain runs beside a timer; nothing else.
	b := l.firstAnswersScenario("first-bounded", "bounded")
	if err := l.write(b); err != nil {
		return err
	}
	// The old inline mode: no fence wait, no hedge.
	old := l.firstAnswersScenario("first-old-inline", "inline")
	old.hedgeAfter = "0s"
	if err := l.write(old); err != nil {
		return err
	}
	p = l.reboot(old, "compute-node-3")
	inline, bounded, err := paired(normalInline, p, normalBounded, l.reboot(b, "compute-node-3"), runs)
	if err != nil {
		return err
	}
	if bounded.comment, err = l.oneRecordEach(b.logDir, "compute-node-3", []string{"default/fluxjob-102-0", "default/projgfs"}); err != nil {
		return err
	}
	if err := l.add(inline, nil); err != nil {
		return err
	}
	if err := l.add(bounded, nil); err != nil {
		return err
	}
	return l.separately(runs, l.firstAnswersScenario("first-separate", ""), "3", "compute-node-3", "kubectl-nnf", []string{"default/fluxjob-102-0", "default/projgfs"})
}

// separately runs s with one module per built-in strategy (the agent before
// plugins/builtin): the lever-off row of the one built-in module.
func (l *lab) separately(runs int, s *scenario, num, target, strategy string, fs []string) error {
	s.separate = true
	if err := l.write(s); err != nil {
		return err
	}
	if err := l.warm(s); err != nil {
		return err
	}
	p := l.reboot(s, target)
	if err := l.add(repeat(num+". (lever off: one module per strategy)", runs, p, nil)); err != nil {
		return err
	}
	return l.expect(s.logDir, target, strategy, fs)
}

func (l *lab) allThree(runs int) error {
	s := l.allThreeScenario("all3")
	if err := l.write(s); err != nil {
		return err
	}
	p := l.reboot(s, "compute-node-4")
	if err := l.add(repeat("4. reboot, all three run (first two empty)", runs, p, nil)); err != nil {
		return err
	}
	if err := l.expect(s.logDir, "compute-node-4", "pcs-config", []string{"gfs2-home", "gfs2-proj"}); err != nil {
		return err
	}
	p.env = fencedEnv(s.cfg, "GOGC=100")
	if err := l.add(repeat("4. (lever off: host GC on, GOGC=100)", runs, p, nil)); err != nil {
		return err
	}
	s.separate = true // pcs-status then pcs-config loads while crm_mon runs
	if err := l.write(s); err != nil {
		return err
	}
	p.env = fencedEnv(s.cfg, "FGR_PREFETCH=0")
	if err := l.add(repeat("4. (lever off: no prefetch, FGR_PREFETCH=0; one module per strategy)", runs, p, nil)); err != nil {
		return err
	}
	return l.separately(runs, l.allThreeScenario("all3-separate"), "4", "compute-node-4", "pcs-config", []string{"gfs2-home", "gfs2-proj"})
}

// coldCache: scenario 4 with a new, empty cache directory every run, with
// the built-in module and with one module per strategy.
func (l *lab) coldCache(runs int) error {
	if err := l.coldCacheOf(runs, l.allThreeScenario("cold"), "5. as 4, empty compile cache"); err != nil {
		return err
	}
	if err := l.coldCacheOf(runs, l.allThreeScenario("cold-1cpu"), "5. (lever off: compile on one CPU, FGR_COMPILE_WORKERS=1)", "FGR_COMPILE_WORKERS=1"); err != nil {
		return err
	}
	s := l.allThreeScenario("cold-separate")
	s.separate = true
	return l.coldCacheOf(runs, s, "5. (lever off: one module per strategy)")
}

func (l *lab) coldCacheOf(runs int, s *scenario, name string, env ...string) error {
	if err := l.write(s); err != nil {
		return err
	}
	ss := make([]sample, 0, runs)
	for i := 0; i < runs; i++ {
		dir := filepath.Join(l.dir, fmt.Sprintf("cold-cache-%d", i))
		smp, err := runProc(l.reboot(s, "compute-node-4", append(env, "FENCE_GFS2_RECORDER_CACHE_DIR="+dir)...))
		if err != nil {
			return err
		}
		ss = append(ss, smp)
		_ = os.RemoveAll(dir)
	}
	if err := l.expect(s.logDir, "compute-node-4", "pcs-config", []string{"gfs2-home", "gfs2-proj"}); err != nil {
		return err
	}
	return l.add(summarize(name, ss), nil)
}

// realKubectl: kubectl-nnf with the real kubectl against the loopback fake
// API server, next to the bare kubectl call it makes.
func (l *lab) realKubectl(runs int) error {
	if l.kubectl == "" {
		l.notes = append(l.notes, "no /usr/bin/kubectl: scenario 6 not run")
		return nil
	}
	srv, err := fakekube.Start(fakekube.Options{})
	if err != nil {
		return err
	}
	defer srv.Close()
	home := filepath.Join(l.dir, "kube-home")
	kc, err := srv.WriteKubeconfig(l.dir)
	if err != nil {
		return err
	}
	s := &scenario{name: "kubectl", order: []string{"kubectl-nnf"},
		extra: fmt.Sprintf("  kubectl:\n    path: %s\n    set_env: {KUBECONFIG: %s, HOME: %s}\n", l.kubectl, kc, home)}
	if err := l.write(s); err != nil {
		return err
	}
	if err := l.warm(s); err != nil {
		return err
	}
	bare := proc{path: l.kubectl, args: []string{"get", "clientmounts.v1alpha7.dataworkflowservices.github.io", "-n", "compute-node-3", "-o", "json"},
		env: []string{"PATH=/usr/bin:/bin", "KUBECONFIG=" + kc, "HOME=" + home}}
	if err := l.add(repeat("baseline: bare kubectl get (fake API server)", runs, bare, nil)); err != nil {
		return err
	}
	srv.ResetRequests()
	p := l.reboot(s, "compute-node-3")
	if err := l.add(repeat("6. reboot, kubectl-nnf + real kubectl", runs, p, nil)); err != nil {
		return err
	}
	if n := len(srv.ResourceRequests()); n != runs+1 {
		l.notes = append(l.notes, fmt.Sprintf("scenario 6: %d list/get requests for %d agent runs (want one each)", n, runs+1))
	}
	if n, err := l.headStarts(s.logDir); err != nil || n != runs+1 {
		l.notes = append(l.notes, fmt.Sprintf("scenario 6: %d of %d records say kubectl had a head start (%v)", n, runs+1, err))
	}
	l.answerTime(s.logDir, "real kubectl against the loopback API server (scenario 6)")
	p.env = fencedEnv(s.cfg, "FGR_HEAD_START=0")
	if err := l.add(repeat("6. (lever off: no head start, FGR_HEAD_START=0)", runs, p, nil)); err != nil {
		return err
	}
	if err := l.expect(s.logDir, "compute-node-3", "kubectl-nnf", []string{"default/fluxjob-102-0", "default/projgfs"}); err != nil {
		return err
	}
	// 6b: the real kubectl answers empty (compute-node-6 mounts no gfs2),
	// then both pcs strategies run on stubs: the case prefetching is for,
	// since pcs-status loads while kubectl runs.
	s2 := l.allThreeScenario("kubectl-all3")
	delete(s2.stubs, "kubectl")
	// The Pacemaker fixture's idle node is compute-node-4, which mounts gfs2
	// in the NNF fixture; rename it to compute-node-6, which does not.
	for _, c := range []string{"crm_mon", "cibadmin"} {
		b, err := os.ReadFile(s2.stubs[c])
		if err != nil {
			return err
		}
		renamed := filepath.Join(l.dir, c+"-node6.xml")
		if err := os.WriteFile(renamed, []byte(strings.ReplaceAll(string(b), "compute-node-4", "compute-node-6")), 0o644); err != nil {
			return err
		}
		s2.stubs[c] = renamed
	}
	s2.extra = s.extra
	if err := l.write(s2); err != nil {
		return err
	}
	p = l.reboot(s2, "compute-node-6")
	if err := l.add(repeat("6b. real kubectl empty, then pcs-status, pcs-config", runs, p, nil)); err != nil {
		return err
	}
	if err := l.expect(s2.logDir, "compute-node-6", "pcs-config", []string{"gfs2-home", "gfs2-proj"}); err != nil {
		return err
	}
	// Prefetching only matters between modules: with one module per
	// strategy, pcs-status's loads while kubectl runs.
	s2.name, s2.separate = "kubectl-all3-separate", true
	if err := l.write(s2); err != nil {
		return err
	}
	if err := l.warm(s2); err != nil {
		return err
	}
	p = l.reboot(s2, "compute-node-6")
	if err := l.add(repeat("6b. (lever off: one module per strategy)", runs, p, nil)); err != nil {
		return err
	}
	p.env = fencedEnv(s2.cfg, "FGR_PREFETCH=0")
	if err := l.add(repeat("6b. (lever off: one module per strategy, no prefetch)", runs, p, nil)); err != nil {
		return err
	}
	return l.expect(s2.logDir, "compute-node-6", "pcs-config", []string{"gfs2-home", "gfs2-proj"})
}

// secondRecords returns the wait of a repeat whose every run leaves two
// records (a first one, then a detached process's completion): after run
// i it waits, untimed, until the file holds both records of every run so
// far, so runs do not overlap. The warm-up is i == -1.
func secondRecords(what, file string, timeout, poll time.Duration) func(i int) error {
	return func(i int) error {
		want := 2 * (i + 2)
		deadline := time.Now().Add(timeout)
		for {
			evs, err := readEvents(file)
			if err == nil && len(evs) >= want {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: %d records after %s, want %d", what, len(evs), timeout, want)
			}
			time.Sleep(poll)
		}
	}
}

// twoRecordRuns adds the row name: runs reboots of compute-node-3 with s,
// a mode where every run leaves two records, waiting (untimed, see
// secondRecords) for the second of each run before the next. It returns
// s's detailed log.
func (l *lab) twoRecordRuns(s *scenario, name string, runs int, timeout, poll time.Duration) (string, error) {
	file := filepath.Join(s.logDir, "fence-events-detailed.jsonl")
	completed := secondRecords(s.name, file, timeout, poll)
	return file, l.add(repeat(name, runs, l.reboot(s, "compute-node-3"), completed))
}

// deferred: scenario 3 in deferred mode; the time measured is until the
// agent exits (what fenced waits for). Before the next run the harness
// waits, untimed, for the detached process's second record, so runs do
// not overlap.
func (l *lab) deferred(runs int) error {
	s := l.firstAnswersScenario("deferred", "deferred")
	if err := l.write(s); err != nil {
		return err
	}
	file, err := l.twoRecordRuns(s, "D. reboot, deferred mode (until the agent exits)", runs, 30*time.Second, 2*time.Millisecond)
	if err != nil {
		return err
	}
	byID, err := byEvent(file)
	if err != nil {
		return err
	}
	for id, es := range byID {
		if len(es) != 2 || es[0].Discovery.State != "pending" || es[1].Discovery.State != "complete" ||
			!slices.Equal(es[1].GFS2Filesystems, []string{"default/fluxjob-102-0", "default/projgfs"}) {
			return fmt.Errorf("deferred: event %s has records %+v", id, es)
		}
	}
	return nil
}

// storm: n agents started at once, each fencing its own target, with
// kubectl-nnf answering. Every record must be whole and present.
func (l *lab) storm(n int) error {
	s := l.firstAnswersScenario("storm", "")
	if err := l.write(s); err != nil {
		return err
	}
	type res struct {
		s   sample
		err error
	}
	ch := make(chan res, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			smp, err := runProc(l.reboot(s, fmt.Sprintf("compute-node-%d", 1000+i)))
			ch <- res{smp, err}
		}()
	}
	ss := make([]sample, 0, n)
	for i := 0; i < n; i++ {
		r := <-ch
		if r.err != nil {
			return fmt.Errorf("storm: %w", r.err)
		}
		ss = append(ss, r.s)
	}
	total := time.Since(start)
	// The stub prints compute-node-3's ClientMounts whatever the target, so
	// kubectl-nnf finds nothing in these targets' namespaces and the whole
	// chain runs in every agent (pcs-status and pcs-config fail on
	// /bin/false): the heaviest storm the chain can make.
	evs, err := readEvents(filepath.Join(s.logDir, "fence-events-detailed.jsonl"))
	if err != nil {
		return fmt.Errorf("storm: %w", err)
	}
	targets := map[string]bool{}
	for _, e := range evs {
		targets[e.TargetNode] = true
		if !slices.Equal(e.GFS2Filesystems, []string{"none-detected"}) {
			return fmt.Errorf("storm: unexpected record %+v", e)
		}
	}
	lines, err := readLines(filepath.Join(s.logDir, "fence-events-readable.log"))
	if err != nil {
		return err
	}
	whole := 0
	for _, ln := range lines {
		if strings.HasPrefix(ln, "[") && strings.Count(ln, " ACTION=reboot TARGET=compute-node-") == 1 && strings.HasSuffix(ln, "DETAILS=Fence action reboot initiated by Pacemaker") {
			whole++
		}
	}
	if len(evs) != n || len(targets) != n || whole != n || len(lines) != n {
		return fmt.Errorf("storm: %d JSON records, %d distinct targets, %d readable lines (%d whole); want %d of each",
			len(evs), len(targets), len(lines), whole, n)
	}
	st := summarize(fmt.Sprintf("7. storm: %d agents at once (per agent)", n), ss)
	st.comment = fmt.Sprintf("all %d started at once, last exited after %.0f ms; %d/%d JSON records intact, %d distinct targets, %d/%d readable lines whole",
		n, msf(total), len(evs), n, len(targets), whole, n)
	return l.add(st, nil)
}

// event is the part of a record the harness checks.
type event struct {
	EventID         string   `json:"event_id"`
	TargetNode      string   `json:"target_node"`
	GFS2Filesystems []string `json:"gfs2_filesystems"`
	Discovery       struct {
		State    string   `json:"state"`
		Strategy string   `json:"strategy"`
		Pending  []string `json:"pending"`
		Hedges   int      `json:"hedges_started"`
		Attempts []struct {
			Strategy   string  `json:"strategy"`
			DurationMS float64 `json:"duration_ms"`
			Calls      []struct {
				HeadStart bool `json:"head_start"`
			} `json:"calls"`
		} `json:"attempts"`
	} `json:"discovery"`
}

// byEvent is file's records grouped by event id, each group in file order.
func byEvent(file string) (map[string][]event, error) {
	evs, err := readEvents(file)
	if err != nil {
		return nil, err
	}
	byID := map[string][]event{}
	for _, e := range evs {
		byID[e.EventID] = append(byID[e.EventID], e)
	}
	return byID, nil
}

func readEvents(file string) ([]event, error) {
	lines, err := readLines(file)
	if err != nil {
		return nil, err
	}
	evs := make([]event, 0, len(lines))
	for i, ln := range lines {
		var e event
		if err := json.Unmarshal([]byte(ln), &e); err != nil {
			return nil, fmt.Errorf("%s line %d is not a whole record: %v", file, i+1, err)
		}
		evs = append(evs, e)
	}
	return evs, nil
}

func readLines(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out, sc.Err()
}

// headStarts counts the records whose first command had a head start.
func (l *lab) headStarts(logDir string) (int, error) {
	evs, err := readEvents(filepath.Join(logDir, "fence-events-detailed.jsonl"))
	n := 0
	for _, e := range evs {
		if a := e.Discovery.Attempts; len(a) > 0 && len(a[0].Calls) > 0 && a[0].Calls[0].HeadStart {
			n++
		}
	}
	return n, err
}

// expect checks every record of a scenario says what the scenario claims:
// the agent did the work being timed, not a fast failure.
func (l *lab) expect(logDir, target, strategy string, fs []string) error {
	evs, err := readEvents(filepath.Join(logDir, "fence-events-detailed.jsonl"))
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		return errors.New(logDir + ": no records")
	}
	for _, e := range evs {
		if e.TargetNode != target || e.Discovery.Strategy != strategy || !slices.Equal(e.GFS2Filesystems, fs) {
			return fmt.Errorf("%s: record %+v, want target %s answered by %s with %v", logDir, e, target, strategy, fs)
		}
	}
	return nil
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mib(b int64) float64         { return float64(b) / (1 << 20) }

// coldStorm: n agents at once on an empty compile cache (after an upgrade,
// or a cache that was cleared), all fencing compute-node-3, for which
// kubectl-nnf finds filesystems; then n more on the cache they left. One
// agent's compile child compiles the module under the entry's lock, the
// others wait for it within their strategy timeout.
func (l *lab) coldStorm(n int) error {
	for _, phase := range []string{"cold", "warm"} {
		s := l.firstAnswersScenario("storm-cold", "")
		s.cacheDir = filepath.Join(l.dir, "cache-storm")
		if phase == "cold" {
			if err := os.RemoveAll(s.cacheDir); err != nil {
				return err
			}
		}
		if err := l.write(s); err != nil {
			return err
		}
		file := filepath.Join(s.logDir, "fence-events-detailed.jsonl")
		before, _ := readEvents(file)
		type res struct {
			s   sample
			err error
		}
		ch := make(chan res, n)
		start := time.Now()
		for range n {
			go func() {
				smp, err := runProc(l.reboot(s, "compute-node-3"))
				ch <- res{smp, err}
			}()
		}
		ss := make([]sample, 0, n)
		for range n {
			r := <-ch
			if r.err != nil {
				return fmt.Errorf("%s storm: %w", phase, r.err)
			}
			ss = append(ss, r.s)
		}
		total := time.Since(start)
		var slowest time.Duration
		for _, smp := range ss {
			slowest = max(slowest, smp.wall)
		}
		// A fence past its wait leaves a partial record and a detached
		// process that appends the completion: wait (untimed) for those.
		var first, last map[string]event
		for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
			evs, err := readEvents(file)
			if err != nil {
				return fmt.Errorf("%s storm: %w", phase, err)
			}
			first, last = map[string]event{}, map[string]event{}
			for _, e := range evs[len(before):] {
				if _, ok := first[e.EventID]; !ok {
					first[e.EventID] = e
				}
				last[e.EventID] = e
			}
			open := 0
			for _, e := range last {
				if e.Discovery.State == "partial" || e.Discovery.State == "pending" {
					open++
				}
			}
			if open == 0 || time.Now().After(deadline) {
				break
			}
		}
		if len(first) != n {
			return fmt.Errorf("%s storm: %d events, want %d", phase, len(first), n)
		}
		want := []string{"default/fluxjob-102-0", "default/projgfs"}
		inline, found := 0, 0
		for id, e := range last {
			if slices.Equal(first[id].GFS2Filesystems, want) {
				inline++
			}
			if slices.Equal(e.GFS2Filesystems, want) {
				found++
			}
		}
		entries, _ := filepath.Glob(filepath.Join(s.cacheDir, "modules", "*", "complete"))
		st := summarize(fmt.Sprintf("8. storm on a %s cache: %d agents (per agent)", phase, n), ss)
		st.comment = fmt.Sprintf("slowest agent exited after %.0f ms (all by %.0f ms); %d/%d events name the filesystems in their first record, %d/%d in their last; %d complete cache entries after",
			msf(slowest), msf(total), inline, n, found, n, len(entries))
		if err := l.add(st, nil); err != nil {
			return err
		}
	}
	return nil
}
