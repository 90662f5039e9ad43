package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/report"
)

// Names of the reporting rows (report.go's target refers to R0 and R1).
const (
	reportingOff         = "R0. reboot, first strategy answers, reporting off"
	reportingOn          = "R1. as R0, k8s-event reporting on (until the agent exits)"
	reportingDisabledOff = "R2. reboot, discovery disabled, reporting off"
	reportingDisabledOn  = "R3. as R2, k8s-event reporting on (until the agent exits)"
)

// reporting prices what reporting adds to the time fenced waits: scenario 3
// with and without the k8s-event reporter, runs interleaved in pairs (off
// then on, on then off, ...) so a drifting load biases neither. After each "on" run the harness
// waits, untimed, until the detached process has delivered its Event, so
// runs do not overlap. R2/R3 repeat it without discovery, where the
// absolute cost stands out, and the spool is priced per queued record.
func (l *lab) reporting(runs int) error {
	var server *fakekube.Server
	if l.kubectl != "" {
		var err error
		if server, err = fakekube.Start(fakekube.Options{}); err != nil {
			return err
		}
		defer server.Close()
	} else {
		l.notes = append(l.notes, "no /usr/bin/kubectl: the reporting rows deliver to /bin/true")
	}
	if err := l.reportingPair(runs, server, reportingOff, reportingOn, "", l.firstAnswersScenario); err != nil {
		return err
	}
	disabled := func(name, mode string) *scenario {
		return &scenario{name: name, order: []string{"kubectl-nnf"}, extra: "  kubectl:\n    path: /bin/false\n"}
	}
	if err := l.reportingPair(runs, server, reportingDisabledOff, reportingDisabledOn, "gfs2_discovery=0\n", disabled); err != nil {
		return err
	}
	enq, drain, err := spoolCost(filepath.Join(l.dir, "spool-cost"), 200)
	if err != nil {
		return err
	}
	l.notes = append(l.notes, fmt.Sprintf("the spool costs %.0f µs per queued record on the fence path (one file created and renamed) and %.1f ms per record to drain (fan-out, fsyncs, removal; off the fence path, the delivery itself not included)",
		float64(enq.Microseconds()), msf(drain)))
	return nil
}

// reportingPair measures one scenario with reporting off and on, interleaved.
func (l *lab) reportingPair(runs int, server *fakekube.Server, offName, onName, stdinExtra string, base func(name, mode string) *scenario) error {
	off := base(offName[:2]+"-off", "")
	on := base(offName[:2]+"-on", "")
	reporter := "  kubectl-events:\n    path: /bin/true\n" // without kubectl the reporter's command just succeeds
	if server != nil {
		kc, err := server.WriteKubeconfig(l.dir)
		if err != nil {
			return err
		}
		reporter = fmt.Sprintf("  kubectl-events:\n    path: %s\n    set_env: {KUBECONFIG: %s}\n", l.kubectl, kc)
	}
	spoolDir := filepath.Join(l.dir, "spool-"+on.name)
	on.extra += reporter + fmt.Sprintf(`reporting:
  order: [k8s-event]
  spool_dir: %s
  reporters:
    k8s-event:
      allow: [kubectl-events]
      config: {command: kubectl-events, cache_dir: %s}
`, spoolDir, filepath.Join(l.dir, "kube-cache"))
	for _, s := range []*scenario{off, on} {
		if err := l.write(s); err != nil {
			return err
		}
		if err := l.warm(s); err != nil {
			return err
		}
	}
	pOff, pOn := l.reboot(off, "compute-node-3"), l.reboot(on, "compute-node-3")
	pOff.stdin += stdinExtra
	pOn.stdin += stdinExtra
	spool := report.Spool{Dir: spoolDir}
	events0 := 0
	if server != nil {
		events0 = len(server.Events())
	}
	delivered := func() error {
		deadline := time.Now().Add(60 * time.Second)
		for {
			bs, err := spool.Backlogs([]string{"k8s-event"})
			if err == nil && bs[0].Entries == 0 {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("reporting: records still spooled after 60 s (%+v, %v)", bs, err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	var offs, ons []sample
	for i := -1; i < runs; i++ { // i == -1: unmeasured warm-up of both
		// The order within a pair alternates, so that whatever the first
		// run of a pair leaves behind biases neither row.
		// An "on" run is followed, untimed, by the wait for its delivery.
		var so, sn sample
		on := func() (err error) {
			if sn, err = runProc(pOn); err == nil {
				err = delivered()
			}
			return err
		}
		off := func() (err error) { so, err = runProc(pOff); return err }
		first, second := off, on
		if i%2 != 0 {
			first, second = on, off
		}
		if err := first(); err != nil {
			return fmt.Errorf("%s / %s: %w", offName, onName, err)
		}
		if err := second(); err != nil {
			return fmt.Errorf("%s / %s: %w", offName, onName, err)
		}
		if i >= 0 {
			offs, ons = append(offs, so), append(ons, sn)
		}
	}
	stOff, stOn := summarize(offName, offs), summarize(onName, ons)
	if server != nil {
		if n := len(server.Events()) - events0; n != runs+1 {
			return fmt.Errorf("%s: %d Events for %d fences", onName, n, runs+1)
		}
	}
	// Each "on" run ran right after its "off" run: the median of the pair
	// differences is steadier than the difference of the medians on a
	// loaded machine.
	diffs := make([]time.Duration, len(ons))
	for i := range ons {
		diffs[i] = ons[i].wall - offs[i].wall
	}
	slices.Sort(diffs)
	paired := median(diffs)
	stOn.comment = fmt.Sprintf("%.3f × %s in wall time (goal ≤ 1.02), %+.1f ms; median of the paired differences %+.1f ms (%.3f ×); CPU %.3f ×",
		msf(stOn.wall[0])/msf(stOff.wall[0]), offName[:2], msf(stOn.wall[0])-msf(stOff.wall[0]),
		msf(paired), 1+msf(paired)/msf(stOff.wall[0]), msf(stOn.cpu)/msf(stOff.cpu))
	if err := l.add(stOff, nil); err != nil {
		return err
	}
	return l.add(stOn, nil)
}

// spoolCost times Enqueue and an in-process drain per record.
func spoolCost(dir string, n int) (enqueue, drain time.Duration, err error) {
	s := report.Spool{Dir: dir}
	rec := make([]byte, 1500) // a record with a few attempts
	var enq, dr []time.Duration
	for i := range n {
		start := time.Now()
		if err := s.Enqueue(rec, fmt.Sprintf("bench-%d", i), false, time.Now()); err != nil {
			return 0, 0, err
		}
		enq = append(enq, time.Since(start))
		start = time.Now()
		if _, err := s.Drain(context.Background(), nopReporter{}, report.Options{Order: []string{"r"}, MaxEntries: 10,
			BackoffMin: time.Second, BackoffMax: time.Second}); err != nil {
			return 0, 0, err
		}
		dr = append(dr, time.Since(start))
	}
	slices.Sort(enq)
	slices.Sort(dr)
	_ = os.RemoveAll(dir)
	return median(enq), median(dr), nil
}

type nopReporter struct{}

func (nopReporter) Report(context.Context, string, []byte) error { return nil }
