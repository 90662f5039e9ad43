package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Built-in reporter names. The built-in module serves them beside the
// built-in strategies.
const ReporterK8sEvent = "k8s-event"

// BuiltinReporters are the reporters the agent ships (none runs unless
// reporting.order names it).
var BuiltinReporters = []string{ReporterK8sEvent}

// IsBuiltinReporter says whether name is one of BuiltinReporters.
func IsBuiltinReporter(name string) bool { return slices.Contains(BuiltinReporters, name) }

// Reporting delivers each durable record to the reporters of Order, from a
// detached process, at least once, through a spool (docs/REPORTING.md).
type Reporting struct {
	Order    []string `koanf:"order"`     // reporters every record goes to; empty: reporting is off
	SpoolDir string   `koanf:"spool_dir"` // undelivered records, one directory per reporter
	// MaxSpool bounds each reporter's backlog; the oldest entry is dropped
	// (with an operational-log error) to make room.
	MaxSpool int `koanf:"max_spool"`
	// BackoffMin and BackoffMax bound the wait after a failed delivery:
	// it doubles per consecutive failure of that reporter.
	BackoffMin time.Duration `koanf:"backoff_min"`
	BackoffMax time.Duration `koanf:"backoff_max"`
	// BacklogAlert: monitor fails when a reporter's oldest undelivered
	// record is older than this.
	BacklogAlert time.Duration `koanf:"backlog_alert"`
	// Reporters are the sandboxes, like strategies: file, timeout,
	// memory_limit, allow, config.
	Reporters map[string]Strategy `koanf:"reporters" entry:"reporter"`
}

// Metrics is the node_exporter textfile the agent keeps.
type Metrics struct {
	TextfileDir string `koanf:"textfile_dir"` // "" = off
}

// Defaults of the reporting and metrics sections.
const (
	DefaultSpoolDir        = "/var/lib/fence_gfs2_recorder/spool"
	DefaultMaxSpool        = 1000
	DefaultBackoffMin      = 10 * time.Second
	DefaultBackoffMax      = 30 * time.Minute
	DefaultBacklogAlert    = time.Hour
	DefaultReporterTimeout = 10 * time.Second
)

func defaultReporting() Reporting {
	k8s := newStrategy()
	k8s.Timeout = DefaultReporterTimeout
	k8s.Allow = []string{"kubectl"}
	k8s.Config["cache_dir"] = DefaultKubectlCacheDir // as for kubectl-nnf: fenced gives no HOME
	return Reporting{Order: []string{}, SpoolDir: DefaultSpoolDir, MaxSpool: DefaultMaxSpool,
		BackoffMin: DefaultBackoffMin, BackoffMax: DefaultBackoffMax, BacklogAlert: DefaultBacklogAlert,
		Reporters: map[string]Strategy{ReporterK8sEvent: k8s}}
}

// Enabled says whether any reporter runs.
func (r Reporting) Enabled() bool { return len(r.Order) > 0 }

// Reporter returns reporter name's sandbox; one nobody configured gets the
// defaults and no commands.
func (r Reporting) Reporter(name string) Strategy {
	if st, ok := r.Reporters[name]; ok {
		return st
	}
	st := newStrategy()
	st.Timeout = DefaultReporterTimeout
	return st
}

func (c *Config) validateReporting(p *problems) {
	r := c.Reporting
	if r.SpoolDir == "" || !filepath.IsAbs(r.SpoolDir) || hasControl(r.SpoolDir) {
		p.add("reporting.spool_dir", fmt.Sprintf("%q is not an absolute path", r.SpoolDir))
	}
	if r.MaxSpool < 1 || r.MaxSpool > 1_000_000 {
		p.add("reporting.max_spool", fmt.Sprintf("%d is out of range (1 to 1000000)", r.MaxSpool))
	}
	if r.BackoffMin <= 0 || r.BackoffMax < r.BackoffMin {
		p.add("reporting.backoff_max", fmt.Sprintf("backoff_min %s and backoff_max %s: want 0 < min <= max", r.BackoffMin, r.BackoffMax))
	}
	if r.BacklogAlert <= 0 {
		p.add("reporting.backlog_alert", fmt.Sprintf("%s must be positive", r.BacklogAlert))
	}
	seen := map[string]bool{}
	for _, name := range r.Order {
		_, declared := r.Reporters[name]
		switch {
		case seen[name]:
			p.add("reporting.order", fmt.Sprintf("%q is listed twice", name))
		case !validName(name):
			p.add("reporting.order", fmt.Sprintf("%q is not a valid reporter name (letters, digits, '-', '_')", name))
		case !declared:
			p.add("reporting.order", fmt.Sprintf("unknown reporter %q (known: %s; or add reporting.reporters.%s.file)",
				name, strings.Join(sortedKeys(r.Reporters), ", "), name))
		}
		seen[name] = true
	}
	for _, name := range sortedKeys(r.Reporters) {
		c.validateSandbox(p, "reporting.reporters."+name, name, r.Reporters[name])
	}
	if d := c.Metrics.TextfileDir; d != "" && (!filepath.IsAbs(d) || hasControl(d)) {
		p.add("metrics.textfile_dir", fmt.Sprintf("%q is not an absolute path", d))
	}
}

func reportingMap(c Config) (map[string]any, map[string]any) {
	reporters := make(map[string]any, len(c.Reporting.Reporters))
	for name, st := range c.Reporting.Reporters {
		reporters[name] = sandboxMap(st)
	}
	r := c.Reporting
	return map[string]any{
			"order": cloneList(r.Order), "spool_dir": r.SpoolDir, "max_spool": int64(r.MaxSpool),
			"backoff_min": r.BackoffMin, "backoff_max": r.BackoffMax, "backlog_alert": r.BacklogAlert,
			"reporters": reporters,
		}, map[string]any{
			"textfile_dir": c.Metrics.TextfileDir,
		}
}

func reportingLeaves(c *Config, add func(key, value string)) {
	r := c.Reporting
	add("reporting.order", formatList(r.Order))
	add("reporting.spool_dir", strconv.Quote(r.SpoolDir))
	add("reporting.max_spool", strconv.Itoa(r.MaxSpool))
	add("reporting.backoff_min", formatDuration(r.BackoffMin))
	add("reporting.backoff_max", formatDuration(r.BackoffMax))
	add("reporting.backlog_alert", formatDuration(r.BacklogAlert))
	for name, st := range r.Reporters {
		sandboxLeaves(add, "reporting.reporters."+name+".", st)
	}
	add("metrics.textfile_dir", strconv.Quote(c.Metrics.TextfileDir))
}
