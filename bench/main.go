// Command bench measures the built agent the way pacemaker-fenced runs it
// (a new process, key=value lines on stdin) and writes the tables of
// docs/PERFORMANCE.md: every scenario and its baselines in one run, medians
// with min and max, CPU time and peak RSS from the child's rusage. It needs
// only Go and the repository (no hyperfine), so `make bench` works on a
// fresh machine; kubectl scenarios are skipped, and say so, without
// /usr/bin/kubectl.
//
//	go run ./bench -bin bin -runs 30 [-out bin/bench.md]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	binDir := flag.String("bin", "bin", "directory of the built agent and plugins/ (make build)")
	runs := flag.Int("runs", 30, "runs per warm scenario")
	coldRuns := flag.Int("cold-runs", 5, "runs of the empty-cache scenario")
	storm := flag.Int("storm", 64, "agents started at once in the storm scenario")
	out := flag.String("out", "", "also write the report to this file")
	only := flag.String("only", "", "comma-separated steps to run (baselines,1,3,4,5,6,D,R,P,7,S,F: F is storage fencing); empty: all")
	sfRuns := flag.Int("sf-latency-runs", 200, "runs of the storage-fence rename-to-exit scenario (p99 needs many)")
	upstream := flag.String("upstream-fence-recorder", os.Getenv(UpstreamEnv), "upstream fence_recorder.py for the storage-fence comparison (default $"+UpstreamEnv+"; none: those rows are skipped)")
	flag.Parse()
	if err := run(*binDir, *runs, *coldRuns, *storm, *out, *only, sfOptions{latencyRuns: *sfRuns, upstream: *upstream}); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// sample is one process run.
type sample struct {
	wall, cpu time.Duration
	maxRSS    int64 // bytes
}

// stats is a scenario's samples summarized.
type stats struct {
	name    string
	n       int
	wall    [3]time.Duration // median, min, max
	cpu     time.Duration    // median
	rss     [3]int64         // median, min, max
	comment string
}

func summarize(name string, ss []sample) stats {
	st := stats{name: name, n: len(ss)}
	walls := make([]time.Duration, len(ss))
	cpus := make([]time.Duration, len(ss))
	rss := make([]int64, len(ss))
	for i, s := range ss {
		walls[i], cpus[i], rss[i] = s.wall, s.cpu, s.maxRSS
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	slices.Sort(rss)
	st.wall = [3]time.Duration{median(walls), walls[0], walls[len(walls)-1]}
	st.cpu = median(cpus)
	st.rss = [3]int64{median(rss), rss[0], rss[len(rss)-1]}
	return st
}

func median[T int64 | time.Duration](sorted []T) T {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// proc is one way to start a process.
type proc struct {
	path  string
	args  []string
	env   []string
	stdin string
}

// runProc runs p once and returns its wall time and the child's rusage.
func runProc(p proc) (sample, error) {
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.Stdin = strings.NewReader(p.stdin)
	var stderr strings.Builder
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%s %s: %v\n%s", p.path, strings.Join(p.args, " "), err, tail(stderr.String(), 2000))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return sample{wall: wall, cpu: cpu, maxRSS: ru.Maxrss * 1024}, nil
}

// repeat runs p n times after one unmeasured warm-up run; between is
// called after each measured run (untimed), e.g. to wait for a detached
// process.
func repeat(name string, n int, p proc, between func(i int) error) (stats, error) {
	if _, err := runProc(p); err != nil {
		return stats{}, fmt.Errorf("%s: warm-up: %w", name, err)
	}
	if between != nil {
		if err := between(-1); err != nil {
			return stats{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	ss := make([]sample, 0, n)
	for i := 0; i < n; i++ {
		s, err := runProc(p)
		if err != nil {
			return stats{}, fmt.Errorf("%s: %w", name, err)
		}
		ss = append(ss, s)
		if between != nil {
			if err := between(i); err != nil {
				return stats{}, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return summarize(name, ss), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}
