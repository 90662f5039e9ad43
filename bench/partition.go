package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
)

// referenceEnv names the reference Python agent
// (agents/gfs2_recorder/fence_gfs2_recorder.py of NearNodeFlash/fence-agents),
// run with /usr/bin/python3 on Debian's fence-agents fencing.py. It is not
// part of this repository; without it its row is skipped and says so.
const referenceEnv = "FGR_REFERENCE_AGENT"

// partitionRuns bounds the partition rows: each inline or reference run
// waits out kubectl's timeout, each bounded one its completion process.
const partitionRuns = 5

// partitionFS is what pcs-status answers for compute-node-3 from the
// Pacemaker fixture, where it runs dlm and two gfs2 clones.
var partitionFS = []string{"gfs2-home", "gfs2-proj"}

// partition: the real kubectl against a silent API server, pcs-status on
// the Pacemaker fixture's outputs. The time is until the agent exits (what
// fenced and every blocked GFS2 node wait for): this agent with the
// default fence wait, in inline mode, and the reference agent.
func (l *lab) partition(int) error {
	if l.kubectl == "" {
		l.notes = append(l.notes, "no /usr/bin/kubectl: partition scenario not run")
		return nil
	}
	addr, stop, err := fakekube.Silent()
	if err != nil {
		return err
	}
	defer stop()
	kc := filepath.Join(l.dir, "silent-kubeconfig")
	if err := fakekube.WriteKubeconfig(kc, "http://"+addr, "partitioned", nil); err != nil {
		return err
	}
	home := filepath.Join(l.dir, "silent-home")
	s := &scenario{name: "partition", mode: "bounded", order: []string{"kubectl-nnf", "pcs-status", "pcs-config"},
		stubs: map[string]string{
			"crm_mon":  filepath.Join(pcmkScenario, "crm_mon-xml.xml"),
			"cibadmin": filepath.Join(pcmkScenario, "cibadmin-Q.xml")},
		extra: fmt.Sprintf("  kubectl:\n    path: %s\n    set_env: {KUBECONFIG: %s, HOME: %s}\n", l.kubectl, kc, home)}
	if err := l.write(s); err != nil {
		return err
	}
	if err := l.warm(s); err != nil {
		return err
	}
	// Runs do not overlap: before the next one the harness waits, untimed,
	// for the completion record of the last.
	file, err := l.twoRecordRuns(s, "P. partition: reboot, fence_wait 1 s (default)", partitionRuns, 60*time.Second, 10*time.Millisecond)
	if err != nil {
		return err
	}
	if err := l.expectPartition(file); err != nil {
		return err
	}

	s.name, s.mode = "partition-inline", "inline"
	if err := l.write(s); err != nil {
		return err
	}
	if err := l.add(repeat("P. (inline mode: waits for kubectl's timeout)", partitionRuns, l.reboot(s, "compute-node-3"), nil)); err != nil {
		return err
	}

	ref := os.Getenv(referenceEnv)
	switch {
	case ref == "":
		l.notes = append(l.notes, "$"+referenceEnv+" not set: no row for the reference Python agent in the partition scenario")
		return nil
	case l.python == "":
		l.notes = append(l.notes, "python3 not installed: no row for the reference Python agent")
		return nil
	}
	if _, err := os.Stat("/usr/share/fence/fencing.py"); err != nil {
		l.notes = append(l.notes, "no /usr/share/fence/fencing.py (apt-get install fence-agents): no row for the reference Python agent")
		return nil
	}
	refLog := filepath.Join(l.dir, "log-reference")
	rp := proc{path: l.python, args: []string{ref}, stdin: fence("compute-node-3"),
		env: []string{"LANG=C", "LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PCMK_service=pacemaker-fenced",
			"KUBECTL_CMD=" + l.kubectl, "KUBECONFIG=" + kc, "HOME=" + home, "LOG_DIR=" + refLog}}
	st, err := repeat("P. (reference Python agent)", partitionRuns, rp, nil)
	if err != nil {
		l.notes = append(l.notes, fmt.Sprintf("the reference Python agent failed, no row: %v", err))
		return nil
	}
	return l.add(st, nil)
}

// answerTime notes kubectl-nnf's median attempt time in logDir's records:
// what discovery.hedge_after is chosen against (2-3 times it).
func (l *lab) answerTime(logDir, what string) {
	evs, err := readEvents(filepath.Join(logDir, "fence-events-detailed.jsonl"))
	var ds []float64
	for _, e := range evs {
		for _, a := range e.Discovery.Attempts {
			if a.Strategy == "kubectl-nnf" {
				ds = append(ds, a.DurationMS)
			}
		}
	}
	if err != nil || len(ds) == 0 {
		l.notes = append(l.notes, fmt.Sprintf("kubectl-nnf answer time, %s: no attempts (%v)", what, err))
		return
	}
	slices.Sort(ds)
	l.notes = append(l.notes, fmt.Sprintf("kubectl-nnf answer time, %s: median %.1f ms, max %.1f ms over %d fences (hedge_after default 250 ms)",
		what, ds[len(ds)/2], ds[len(ds)-1], len(ds)))
}

// Scenario 3 in the old inline mode and under the defaults, run in pairs.
const (
	normalInline  = "3. paired with the next row: old inline mode (hedge_after 0)"
	normalBounded = "3. paired: defaults (bounded, fence_wait 1 s, hedge_after 250 ms)"
)

// paired runs a and b alternately, n times each after one warm-up each,
// so that both see the same machine: on a shared machine whose load moves
// from one row to the next, only a paired ratio means anything.
func paired(nameA string, a proc, nameB string, b proc, n int) (stats, stats, error) {
	for _, p := range []proc{a, b} {
		if _, err := runProc(p); err != nil {
			return stats{}, stats{}, fmt.Errorf("paired: warm-up: %w", err)
		}
	}
	sa, sb := make([]sample, 0, n), make([]sample, 0, n)
	for i := 0; i < n; i++ {
		for j, p := range []proc{a, b} {
			if i%2 == 1 {
				p = []proc{b, a}[j] // ABBA: neither always goes first
			}
			s, err := runProc(p)
			if err != nil {
				return stats{}, stats{}, fmt.Errorf("paired: %w", err)
			}
			if (j == 0) == (i%2 == 0) {
				sa = append(sa, s)
			} else {
				sb = append(sb, s)
			}
		}
	}
	return summarize(nameA, sa), summarize(nameB, sb), nil
}

// oneRecordEach says how many events of the normal case stayed one record
// with kubectl-nnf's answer and no hedge. On a quiet machine that is all of
// them; one so loaded that kubectl-nnf takes longer than hedge_after or
// the fence wait shows here, as a count, not as a failed run. A record
// that is neither shape is an error.
func (l *lab) oneRecordEach(logDir, target string, fs []string) (string, error) {
	evs, err := readEvents(filepath.Join(logDir, "fence-events-detailed.jsonl"))
	if err != nil {
		return "", err
	}
	byID := map[string][]event{}
	var ids []string
	for _, e := range evs {
		if e.TargetNode != target {
			return "", fmt.Errorf("%s: record %+v for another target", logDir, e)
		}
		if byID[e.EventID] == nil {
			ids = append(ids, e.EventID)
		}
		byID[e.EventID] = append(byID[e.EventID], e)
	}
	one, hedged, partial := 0, 0, 0
	for _, id := range ids {
		es := byID[id]
		switch e := es[0]; {
		case len(es) == 1 && e.Discovery.State == "" && e.Discovery.Strategy == "kubectl-nnf" && slices.Equal(e.GFS2Filesystems, fs):
			one++
			if e.Discovery.Hedges > 0 {
				hedged++
			}
		case e.Discovery.State == "partial":
			partial++
		default:
			return "", fmt.Errorf("%s: event %s has records %+v", logDir, id, es)
		}
	}
	return fmt.Sprintf("%d of %d events one record with kubectl-nnf's answer (%d of them started a hedge), %d partial (the fence wait ended first)",
		one, len(ids), hedged, partial), nil
}

// expectPartition checks each event has a partial record with the
// Pacemaker answer and kubectl-nnf pending, then a complete one. The
// answer is pcs-status's, or on a machine so loaded that pcs-status had
// not answered within hedge_after either, pcs-config's (the same two
// filesystems) with pcs-status pending too.
func (l *lab) expectPartition(file string) error {
	byID, err := byEvent(file)
	if err != nil {
		return err
	}
	for id, es := range byID {
		first := es[0].Discovery
		pcsStatus := first.Strategy == "pcs-status" && slices.Equal(first.Pending, []string{"kubectl-nnf"})
		pcsConfig := first.Strategy == "pcs-config" && slices.Equal(first.Pending, []string{"kubectl-nnf", "pcs-status"})
		if len(es) != 2 || first.State != "partial" || !pcsStatus && !pcsConfig ||
			!slices.Equal(es[0].GFS2Filesystems, partitionFS) ||
			es[1].Discovery.State != "complete" || !slices.Equal(es[1].GFS2Filesystems, partitionFS) {
			return fmt.Errorf("partition: event %s has records %+v", id, es)
		}
	}
	return nil
}
