// Package metrics keeps the agent's Prometheus metrics in a node_exporter
// textfile (metrics.textfile_dir/fence_gfs2_recorder.prom). There is no
// daemon to hold counters, so the file is the state: each run reads it,
// adds its own samples and replaces it atomically (write a temporary file,
// rename), under the record lock (the flock on the detailed log) so that
// concurrent agents never lose each other's increments. Counters therefore
// survive across runs; a lost or deleted file is a counter reset, which
// Prometheus handles.
package metrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/flock"
)

// FileName is the textfile node_exporter reads (it reads only *.prom).
const FileName = "fence_gfs2_recorder.prom"

// Metric names. Every family is declared once, here, with its help text.
const (
	FenceEvents       = "fence_gfs2_recorder_fence_events_total"
	LastFence         = "fence_gfs2_recorder_last_fence_timestamp_seconds"
	DiscoveryAttempts = "fence_gfs2_recorder_discovery_attempts_total"
	DiscoveryDuration = "fence_gfs2_recorder_discovery_duration_seconds"
	FenceWait         = "fence_gfs2_recorder_fence_wait_seconds"
	Reports           = "fence_gfs2_recorder_reports_total"
	StorageFences     = "fence_gfs2_recorder_storage_fences_total"
	StorageFenceWait  = "fence_gfs2_recorder_storage_fence_answer_seconds"
)

type family struct{ name, typ, help string }

var families = []family{
	{FenceEvents, "counter", "Fence actions recorded, by action and outcome (recorded: in the log directory; fallback: on stderr and syslog only)."},
	{LastFence, "gauge", "Unix time of the last recorded fence action, by target node."},
	{DiscoveryAttempts, "counter", "Discovery strategy attempts, by strategy and outcome (found, empty, error, timeout, denied, crashed, load-error, skipped, invalid-target)."},
	{DiscoveryDuration, "summary", "Time the discovery chain took per record."},
	{FenceWait, "summary", "Time from the agent's start to its record being durable: what pacemaker-fenced waits for."},
	{Reports, "counter", "Record deliveries to reporters, by reporter and outcome (delivered, failed, dropped)."},
	{StorageFences, "counter", "Storage fences (nnf-sos requests), by action and outcome (fenced, refused, timeout, error)."},
	{StorageFenceWait, "summary", "Time from a storage-fence request to nnf-sos's answer (or the end of the wait)."},
}

// Sample is what one run adds.
type Sample struct {
	Counters map[string]float64 // series -> increment
	Gauges   map[string]float64 // series -> value
}

// NewSample returns an empty sample.
func NewSample() *Sample {
	return &Sample{Counters: map[string]float64{}, Gauges: map[string]float64{}}
}

// Inc adds v to the counter name{labels} (labels as key, value pairs).
func (s *Sample) Inc(name string, v float64, labels ...string) {
	s.Counters[Series(name, labels...)] += v
}

// Set sets the gauge name{labels}.
func (s *Sample) Set(name string, v float64, labels ...string) {
	s.Gauges[Series(name, labels...)] = v
}

// Observe adds one observation to the summary name (its _sum and _count).
func (s *Sample) Observe(name string, d time.Duration) {
	s.Inc(name+"_sum", d.Seconds())
	s.Inc(name+"_count", 1)
}

// Series renders name{k="v",...} in the text format, with label values
// escaped (backslash, quote, newline) and made valid UTF-8; the same labels
// always render the same, which is how a run finds its series again.
func Series(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(labels[i])
		b.WriteString(`="`)
		v := strings.ToValidUTF8(labels[i+1], "\uFFFD")
		v = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
		b.WriteString(v)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// Add merges s into dir/FileName under the lock on lockPath (the record
// lock: the detailed log). lockPath missing or unlockable falls back to a
// lock file in dir, so counters still add up.
func Add(dir, lockPath string, s *Sample) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	unlock, err := lock(lockPath, filepath.Join(dir, ".fence_gfs2_recorder.lock"))
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	defer unlock()
	path := filepath.Join(dir, FileName)
	series, err := read(path)
	if err != nil {
		return err
	}
	for k, v := range s.Counters {
		series[k] += v
	}
	for k, v := range s.Gauges {
		series[k] = v
	}
	tmp := filepath.Join(dir, "."+FileName+".tmp")
	if err := os.WriteFile(tmp, render(series), 0o644); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// read parses a textfile this package wrote: each sample line is the
// series text, a space, the value. Lines it does not understand (a file
// edited by hand, a family a newer version dropped) are dropped.
func read(path string) (map[string]float64, error) {
	out := map[string]float64{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil || familyOf(line[:i]) == "" {
			continue
		}
		out[line[:i]] = v
	}
	return out, nil
}

// familyOf is the family a series belongs to ("" for none we declare).
func familyOf(series string) string {
	name := series
	if i := strings.IndexByte(series, '{'); i >= 0 {
		name = series[:i]
	}
	for _, f := range families {
		if name == f.name || f.typ == "summary" && (name == f.name+"_sum" || name == f.name+"_count") {
			return f.name
		}
	}
	return ""
}

func render(series map[string]float64) []byte {
	keys := make([]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, f := range families {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.typ)
		for _, k := range keys {
			if familyOf(k) == f.name {
				b.WriteString(k)
				b.WriteByte(' ')
				b.WriteString(strconv.FormatFloat(series[k], 'g', -1, 64))
				b.WriteByte('\n')
			}
		}
	}
	return b.Bytes()
}

// lock takes an exclusive flock on path, else on fallback.
func lock(path, fallback string) (func(), error) {
	f, err := os.Open(path)
	if err != nil {
		if f, err = os.OpenFile(fallback, os.O_RDONLY|os.O_CREATE, 0o644); err != nil {
			return nil, err
		}
	}
	if err := flock.Wait(context.Background(), f, 5*time.Second, 50*time.Millisecond); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
