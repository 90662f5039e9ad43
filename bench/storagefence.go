package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakesos"
)

// UpstreamEnv names the upstream Python agent (agents/fence_recorder/
// fence_recorder.py of NearNodeFlash/fence-agents, branch fence-recorder)
// for the comparison rows; the bench never ships or fetches it.
const UpstreamEnv = "FGR_UPSTREAM_FENCE_RECORDER"

// fencingLib is where Debian's fence-agents keeps fencing.py, which the
// upstream agent imports.
const fencingLib = "/usr/share/fence"

const (
	sfTarget = "compute-node-3"
	// sfAnswerAfter is how long the responder works on a request in the
	// whole-fence rows: a fast nnf-sos storage-group deletion.
	sfAnswerAfter = 100 * time.Millisecond
	// sfLatencyDelay lets the agent settle into its wait before the answer
	// in the rename-to-exit rows, so they time the wake-up alone.
	sfLatencyDelay = 30 * time.Millisecond
)

// sfResult is the storage-fence section of the report.
type sfResult struct {
	rows  []sfRow
	notes []string
	// for the targets
	baselineP50, oursP50, oursTmpfsP50, upstreamWhole, oursWhole, oursWholeDisc time.Duration
}

type sfRow struct {
	name    string
	n       int
	p50     time.Duration
	p99     time.Duration
	min     time.Duration
	max     time.Duration
	comment string
}

func newRow(name, comment string, ds []time.Duration) sfRow {
	s := slices.Clone(ds)
	slices.Sort(s)
	return sfRow{name: name, n: len(s), p50: percentile(s, 50), p99: percentile(s, 99), min: s[0], max: s[len(s)-1], comment: comment}
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

// sfLab is one storage-fence setup: directories and a responder that
// behaves as nnf-sos does (R1: atomic rename).
type sfLab struct {
	dir, req, resp, logDir string
	sos                    *fakesos.Responder
}

func (l *lab) newSF(name string, delay time.Duration) (*sfLab, error) {
	s := &sfLab{dir: filepath.Join(l.dir, "sf-"+name)}
	s.req, s.resp, s.logDir = filepath.Join(s.dir, "requests"), filepath.Join(s.dir, "responses"), filepath.Join(s.dir, "log")
	var err error
	s.sos, err = fakesos.Start(context.Background(), fakesos.Config{RequestDir: s.req, ResponseDir: s.resp,
		Behaviour: fakesos.Always(fakesos.Answer{Shape: fakesos.R1, Success: true, Delay: delay})})
	return s, err
}

// fenceOnce runs p, which must exit 0 after one request, and returns when
// it exited and the response it got; the markers are cleared afterwards
// (untimed) so every run starts alike.
func (s *sfLab) fenceOnce(p proc) (start, exit time.Time, resp fakesos.Response, err error) {
	before := len(s.sos.Responses())
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.Stdin = strings.NewReader(p.stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start = time.Now()
	err = cmd.Run()
	exit = time.Now()
	if err != nil {
		return start, exit, resp, fmt.Errorf("%s: %v\n%s", p.path, err, tail(stderr.String(), 2000))
	}
	got := s.sos.Responses()[before:]
	if len(got) != 1 {
		return start, exit, resp, fmt.Errorf("%s: %d responses for one fence", p.path, len(got))
	}
	resp = got[0]
	ents, _ := os.ReadDir(s.resp)
	for _, e := range ents {
		os.Remove(filepath.Join(s.resp, e.Name()))
	}
	return start, exit, resp, nil
}

// fenceRuns runs p once untimed (the warm-up), then n times, handing each
// run's times and response to each.
func (s *sfLab) fenceRuns(name string, p proc, n int, each func(start, exit time.Time, resp fakesos.Response)) error {
	if _, _, _, err := s.fenceOnce(p); err != nil {
		return fmt.Errorf("%s: warm-up: %w", name, err)
	}
	for i := 0; i < n; i++ {
		start, exit, resp, err := s.fenceOnce(p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		each(start, exit, resp)
	}
	return nil
}

// ours is the agent in storage-fence mode, fenced's way (stdin only).
func (l *lab) oursSF(s *sfLab, cfg string, discovery bool) proc {
	in := fence(sfTarget) + "nnf_storage_fence=1\nrequest_dir=" + s.req + "\nresponse_dir=" + s.resp + "\nlog_dir=" + s.logDir + "\n"
	if !discovery {
		in += "gfs2_discovery=0\n"
	}
	return proc{path: l.agent, env: fencedEnv(cfg), stdin: in}
}

// upstreamSF is fence_recorder.py on the same stdin, under the interpreter
// fence agents use, finding fencing.py where Debian installs it.
func (l *lab) upstreamSF(s *sfLab, script string) proc {
	in := "action=reboot\nnodename=" + sfTarget + "\nport=" + sfTarget + "\nrequest_dir=" + s.req + "\nresponse_dir=" + s.resp + "\nlog_dir=" + s.logDir + "\n"
	return proc{path: l.python, args: []string{script}, env: append(fencedEnv(""), "PYTHONPATH="+fencingLib), stdin: in}
}

// storageFence measures the storage-fence mode against a responder that
// behaves as nnf-sos does:
//   - the time from the response's rename to the agent's exit (p50, p99):
//     how fast the agent notices the answer;
//   - a whole fence with a responder that answers 100 ms after the request,
//     ours and, when UpstreamEnv names it, upstream's fence_recorder.py.
func (l *lab) storageFence(runs, latencyRuns int, upstream string) error {
	r := &sfResult{}
	l.sf = r
	if upstream == "" {
		r.notes = append(r.notes, "upstream rows skipped: set "+UpstreamEnv+"=/path/to/fence_recorder.py "+
			"(NearNodeFlash/fence-agents, branch fence-recorder, agents/fence_recorder/) to compare")
	} else if _, err := os.Stat(filepath.Join(fencingLib, "fencing.py")); err != nil {
		r.notes = append(r.notes, "upstream rows skipped: "+fencingLib+"/fencing.py missing (apt install fence-agents)")
		upstream = ""
	} else if _, err := os.Stat(upstream); err != nil || l.python == "" {
		return fmt.Errorf("storage fence: %s=%s: %v (python3 %q)", UpstreamEnv, upstream, err, l.python)
	}
	waiter := filepath.Join(l.dir, "sfwaiter")
	if b, err := exec.Command("go", "build", "-o", waiter, "./bench/sfwaiter").CombinedOutput(); err != nil {
		return fmt.Errorf("build sfwaiter: %v\n%s", err, b)
	}
	baseline := func(s *sfLab) proc {
		return proc{path: waiter, args: []string{s.req, s.resp, sfTarget}, env: fencedEnv("")}
	}
	disc := l.firstAnswersScenario("sf-discovery", "")
	if err := l.write(disc); err != nil {
		return err
	}
	if err := l.warm(disc); err != nil {
		return err
	}

	// Rename to exit.
	latency := func(name string, n int, logDir string, mk func(*sfLab) proc) ([]time.Duration, error) {
		s, err := l.newSF(name, sfLatencyDelay)
		if err != nil {
			return nil, err
		}
		defer s.sos.Stop()
		if logDir != "" {
			s.logDir = logDir
		}
		p := mk(s)
		var ds []time.Duration
		if err := s.fenceRuns(name, p, n, func(_, exit time.Time, resp fakesos.Response) {
			ds = append(ds, exit.Sub(resp.At))
		}); err != nil {
			return nil, err
		}
		if p.path == l.agent {
			if err := checkRecords(s.logDir, n+1); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		return ds, nil
	}
	base, err := latency("latency-baseline", latencyRuns, "", baseline)
	if err != nil {
		return err
	}
	r.baselineP50 = l.addSF(newRow("baseline: response rename → exit of bench/sfwaiter", "rename, inotify, read, exit: nothing else", base))
	ours, err := latency("latency-ours", latencyRuns, "", func(s *sfLab) proc { return l.oursSF(s, disc.cfg, false) })
	if err != nil {
		return err
	}
	r.oursP50 = l.addSF(newRow("response rename → agent exit: ours",
		"log_dir on the bench's disk, as deployed: the record's fsyncs are in this time", ours))
	// The same with log_dir on tmpfs, where fsync costs nothing: what is
	// left is the wake-up, reading the answer, writing the record and the
	// process exit.
	if shm, err := os.MkdirTemp("/dev/shm", "fgr-bench-sf-"); err == nil {
		// A log_dir under /dev from stdin is refused unless the
		// configuration file allows it.
		cfg := disc.cfg + ".tmpfs.yaml"
		b, err := os.ReadFile(disc.cfg)
		if err == nil {
			err = os.WriteFile(cfg, append(b, "allowed_stdin_paths: ["+shm+"]\n"...), 0o600)
		}
		if err != nil {
			os.RemoveAll(shm)
			return err
		}
		ds, err := latency("latency-ours-tmpfs", latencyRuns, shm, func(s *sfLab) proc { return l.oursSF(s, cfg, false) })
		os.RemoveAll(shm)
		if err != nil {
			return err
		}
		r.oursTmpfsP50 = l.addSF(newRow("response rename → agent exit: ours, log_dir on tmpfs", "fsync free: wake-up, record and exit alone", ds))
	} else {
		r.notes = append(r.notes, "no /dev/shm: the tmpfs row is skipped")
	}
	if upstream != "" {
		up, err := latency("latency-upstream", max(runs/2, 5), "", func(s *sfLab) proc { return l.upstreamSF(s, upstream) })
		if err != nil {
			return err
		}
		l.addSF(newRow("response rename → agent exit: upstream fence_recorder.py",
			"its 0.5 s poll: the answer comes 30 ms after the request, its second look 0.5 s after it", up))
	}

	// Whole fence, responder answering after 100 ms.
	whole := func(name string, mk func(*sfLab) proc) (sfRow, error) {
		s, err := l.newSF(name, sfAnswerAfter)
		if err != nil {
			return sfRow{}, err
		}
		defer s.sos.Stop()
		var ds, published []time.Duration
		if err := s.fenceRuns(name, mk(s), runs, func(start, exit time.Time, resp fakesos.Response) {
			ds = append(ds, exit.Sub(start))
			published = append(published, resp.Request.SeenAt.Sub(start))
		}); err != nil {
			return sfRow{}, err
		}
		slices.Sort(published)
		return newRow(name, fmt.Sprintf("request seen by the responder %.1f ms (median) after the start", msf(percentile(published, 50))), ds), nil
	}
	for _, c := range []struct {
		name string
		mk   func(*sfLab) proc
		into *time.Duration
	}{
		{"whole fence, answer after 100 ms: ours, discovery disabled", func(s *sfLab) proc { return l.oursSF(s, disc.cfg, false) }, &r.oursWhole},
		{"whole fence, answer after 100 ms: ours, kubectl-nnf discovery", func(s *sfLab) proc { return l.oursSF(s, disc.cfg, true) }, &r.oursWholeDisc},
		{"whole fence, answer after 100 ms: upstream fence_recorder.py", func(s *sfLab) proc { return l.upstreamSF(s, upstream) }, &r.upstreamWhole},
	} {
		if c.into == &r.upstreamWhole && upstream == "" {
			continue
		}
		row, err := whole(c.name, c.mk)
		if err != nil {
			return err
		}
		*c.into = l.addSF(row)
	}
	return nil
}

// addSF adds row to the storage-fence section, prints its progress line
// and returns its p50.
func (l *lab) addSF(row sfRow) time.Duration {
	l.sf.rows = append(l.sf.rows, row)
	l.progress(row)
	return row.p50
}

func (l *lab) progress(r sfRow) {
	fmt.Fprintf(os.Stderr, "%-64s p50 %8.2f ms p99 %8.2f ms [%.2f-%.2f]\n", r.name, msf(r.p50), msf(r.p99), msf(r.min), msf(r.max))
}

// checkRecords makes sure our agent did what is timed: want storage fences
// that succeeded. For the others their exit code (checked by fenceOnce) is
// all there is to check.
func checkRecords(logDir string, want int) error {
	lines, err := readLines(filepath.Join(logDir, "fence-events-detailed.jsonl"))
	if err != nil {
		return err
	}
	n := 0
	for _, ln := range lines {
		var rec struct {
			StorageFence *struct {
				Outcome string `json:"outcome"`
			} `json:"storage_fence"`
		}
		if err := json.Unmarshal([]byte(ln), &rec); err != nil {
			return err
		}
		if rec.StorageFence == nil || rec.StorageFence.Outcome != "fenced" {
			return fmt.Errorf("record %s", ln)
		}
		n++
	}
	if n != want {
		return fmt.Errorf("%d storage-fence records, want %d", n, want)
	}
	return nil
}

// sfReport renders the storage-fence section.
func (r *sfResult) report(b *strings.Builder) {
	if r == nil {
		return
	}
	b.WriteString("\nStorage fence (fakesos answering as nnf-sos's R1 path does: atomic rename):\n\n")
	b.WriteString("| measure | runs | p50 ms | p99 ms | min–max ms | note |\n|---|---|---|---|---|---|\n")
	for _, row := range r.rows {
		fmt.Fprintf(b, "| %s | %d | %.2f | %.2f | %.2f–%.2f | %s |\n", row.name, row.n, msf(row.p50), msf(row.p99), msf(row.min), msf(row.max), row.comment)
	}
	b.WriteString("\n")
	for _, n := range r.notes {
		fmt.Fprintf(b, "* note: %s\n", n)
	}
	fmt.Fprintf(b, "* rename → exit p50 ≤ 5 ms: %.2f ms: %s (%.1f × the bench/sfwaiter baseline's %.2f ms in this run)\n",
		msf(r.oursP50), met(r.oursP50 <= 5*time.Millisecond), msf(r.oursP50)/msf(r.baselineP50), msf(r.baselineP50))
	if r.oursTmpfsP50 > 0 {
		fmt.Fprintf(b, "* the same with log_dir on tmpfs: %.2f ms: %s (%.1f × the baseline)\n",
			msf(r.oursTmpfsP50), met(r.oursTmpfsP50 <= 5*time.Millisecond), msf(r.oursTmpfsP50)/msf(r.baselineP50))
	}
	if r.upstreamWhole > 0 {
		for _, c := range []struct {
			what string
			d    time.Duration
		}{{"discovery disabled", r.oursWhole}, {"kubectl-nnf discovery", r.oursWholeDisc}} {
			ratio := msf(c.d) / msf(r.upstreamWhole)
			fmt.Fprintf(b, "* whole fence ours (%s) ÷ upstream ≤ 0.5 (p50): %.1f ÷ %.1f ms = %.2f: %s\n",
				c.what, msf(c.d), msf(r.upstreamWhole), ratio, met(ratio <= 0.5))
		}
	}
}
