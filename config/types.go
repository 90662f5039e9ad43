// Package config loads the agent's settings in layers with koanf: built-in
// defaults < YAML file < environment < stdin/argv options, and remembers which
// layer each value came from so errors and `fence_gfs2_recorder config` can
// name it.
package config

import (
	"slices"
	"time"
)

// Built-in strategy names, in their default order.
const (
	StrategyKubectlNNF = "kubectl-nnf"
	StrategyPcsStatus  = "pcs-status"
	StrategyPcsConfig  = "pcs-config"
)

// BuiltinStrategies are the strategies the agent ships, in their default
// order. One module serves them all (<builtin_dir>/builtin.wasm, built from
// plugins/builtin), so a fence loads one module however far the chain goes.
var BuiltinStrategies = []string{StrategyKubectlNNF, StrategyPcsStatus, StrategyPcsConfig}

// IsBuiltin says whether name is one of BuiltinStrategies.
func IsBuiltin(name string) bool { return slices.Contains(BuiltinStrategies, name) }

// Discovery modes. bounded is the general one; inline and deferred are its
// two extremes, kept under their names (WaitBound).
const (
	ModeBounded  = "bounded"  // record when discovery answers or fence_wait ends, whichever is first
	ModeInline   = "inline"   // discover, then record once, then exit (fence_wait = budget)
	ModeDeferred = "deferred" // record at once as pending, finish discovery in a detached process (fence_wait = 0)
)

// Config is the effective configuration of one agent run.
type Config struct {
	LogDir       string        `koanf:"log_dir"`       // where the three logs live
	RecorderNode string        `koanf:"recorder_node"` // default: the host name
	Hosts        []string      `koanf:"hosts"`         // answered by the list action
	PluginDir    string        `koanf:"plugin_dir"`    // site .wasm strategies
	BuiltinDir   string        `koanf:"builtin_dir"`   // built-in .wasm strategies; "" = next to the binary
	CacheDir     string        `koanf:"cache_dir"`     // wazero compile cache; "" disables it
	Verbose      bool          `koanf:"verbose"`       // debug-level operational log
	Delay        time.Duration `koanf:"delay"`         // wait before recording (fence-agents' --delay)

	Discovery  Discovery           `koanf:"discovery"`
	Commands   map[string]Command  `koanf:"commands" entry:"command"`    // what strategies may run, by logical name
	Strategies map[string]Strategy `koanf:"strategies" entry:"strategy"` // per-strategy sandbox settings
	Safety     Safety              `koanf:"safety"`

	// AllowedStdinPaths are prefixes a path from stdin may point under
	// although they are system trees (/etc, /usr, ...; see stdinpaths.go).
	AllowedStdinPaths []string     `koanf:"allowed_stdin_paths"`
	Reporting         Reporting    `koanf:"reporting"` // reporters and their spool (reporting.go)
	Metrics           Metrics      `koanf:"metrics"`   // node_exporter textfile
	StorageFence      StorageFence `koanf:"storage_fence"`
}

// StorageFence is the mode in which the agent is a real fence device: it
// asks nnf-sos (on this rabbit) to cut the target's GFS2 storage through the
// fence request/response directories, and succeeds only when nnf-sos says so.
type StorageFence struct {
	Enabled     bool   `koanf:"enabled"`
	RequestDir  string `koanf:"request_dir"`
	ResponseDir string `koanf:"response_dir"`
	// Timeout is the longest wait for nnf-sos's answer; keep it below the
	// device's pcmk_off_timeout/pcmk_reboot_timeout so the agent, not
	// Pacemaker's kill, ends a silent fence and the failure is recorded.
	Timeout time.Duration `koanf:"timeout"`
	// PollInterval is the safety-net re-check beside inotify.
	PollInterval time.Duration `koanf:"poll_interval"`
	// CleanupMaxAge: requests of this protocol older than this (and than
	// the longest wait) are stale and removed before a new fence.
	CleanupMaxAge time.Duration `koanf:"cleanup_max_age"`
}

// Discovery controls the strategy chain.
type Discovery struct {
	Enabled bool          `koanf:"enabled"`
	Order   []string      `koanf:"order"`  // strategy names; first non-empty answer wins
	Budget  time.Duration `koanf:"budget"` // total time for the whole chain
	Mode    string        `koanf:"mode"`   // bounded, inline or deferred
	// FenceWait is how long a fence waits for discovery in bounded mode;
	// then the record is written with the best answer so far and a
	// detached process appends the completion record. 0 is deferred mode,
	// a value >= Budget inline mode.
	FenceWait time.Duration `koanf:"fence_wait"`
	// HedgeAfter starts the next strategy when the one in front has not
	// answered after this long; 0 never runs two at once.
	HedgeAfter time.Duration `koanf:"hedge_after"`
}

// WaitBound is how long a fence waits for discovery before it records
// what it has: 0 for deferred, Budget for inline, else FenceWait capped by
// Budget.
func (d Discovery) WaitBound() time.Duration {
	switch {
	case d.Mode == ModeDeferred:
		return 0
	case d.Mode == ModeInline || d.FenceWait > d.Budget:
		return d.Budget
	}
	return d.FenceWait
}

// Command is one program a strategy may be granted. The host runs Path with
// Args prepended to the guest's arguments, never through a shell.
type Command struct {
	Path      string            `koanf:"path"`                                          // absolute path
	Args      []string          `koanf:"args"`                                          // fixed leading arguments
	Env       []string          `koanf:"env"`                                           // names of agent environment variables passed through
	SetEnv    map[string]string `koanf:"set_env" mapping:"of variable names to values"` // variables set for the command (e.g. KUBECONFIG)
	Timeout   time.Duration     `koanf:"timeout"`                                       // per run; capped by the strategy's remaining time
	OutputCap int64             `koanf:"output_cap"`                                    // bytes kept of stdout and of stderr each
}

// Strategy is the sandbox of one discovery strategy.
type Strategy struct {
	File        string         `koanf:"file"`                                                        // explicit .wasm path; "" = built-in or plugin_dir/<name>.wasm
	Timeout     time.Duration  `koanf:"timeout"`                                                     // whole strategy call
	MemoryLimit int64          `koanf:"memory_limit"`                                                // bytes of guest linear memory
	Allow       []string       `koanf:"allow"`                                                       // logical command names it may Exec
	Config      map[string]any `koanf:"config" mapping:"(it becomes the strategy's Request.Config)"` // handed to the guest as Request.Config
}

// Safety holds the checks that protect the cluster from a misconfigured recorder.
type Safety struct {
	// PairingCheck makes monitor and validate-all fail when a recorder device
	// could satisfy a fence on its own (alone in a level, or in no level).
	PairingCheck bool `koanf:"pairing_check"`
}

const (
	MiB = 1 << 20

	DefaultLogDir    = "/var/log/gfs2-fencing"
	DefaultPluginDir = "/etc/fence_gfs2_recorder/plugins.d"
	DefaultCacheDir  = "/var/cache/fence_gfs2_recorder"
	DefaultFile      = "/etc/fence_gfs2_recorder/config.yaml"

	DefaultKubectlPath = "/usr/bin/kubectl"
	DefaultPcsPath     = "/usr/sbin/pcs"

	// DefaultKubectlCacheDir keeps kubectl's API discovery cache across fences.
	DefaultKubectlCacheDir = DefaultCacheDir + "/kube"

	// The directories nnf-sos watches by default: /localdisk is persistent
	// on every rabbit and mounted at the same path into the node manager.
	DefaultRequestDir  = "/localdisk/fence-recorder/requests"
	DefaultResponseDir = "/localdisk/fence-recorder/responses"
	// DefaultFenceTimeout stays below Pacemaker's 60 s default action
	// timeout, so a silent nnf-sos ends in the agent's own recorded failure.
	DefaultFenceTimeout  = 45 * time.Second
	DefaultPollInterval  = 1 * time.Second
	DefaultCleanupMaxAge = 300 * time.Second

	DefaultStrategyTimeout = 5 * time.Second
	DefaultBudget          = 15 * time.Second
	// DefaultFenceWait bounds what a fence waits for discovery: every GFS2
	// node is blocked in DLM recovery until the fence completes, and
	// pcs-status answers from Pacemaker's state within tens of ms.
	DefaultFenceWait = time.Second
	// DefaultHedgeAfter is about 2-3x kubectl-nnf's normal answer time
	// measured against a loopback API server (docs/CONFIG.md): later than
	// any normal answer, so the common fence starts no second strategy.
	DefaultHedgeAfter  = 250 * time.Millisecond
	DefaultMemoryLimit = 64 * MiB
	DefaultOutputCap   = 16 * MiB
)

// Defaults returns the built-in layer.
func Defaults() Config {
	cmd := func(path string, env ...string) Command {
		return Command{Path: path, Args: []string{}, Env: append([]string{}, env...), SetEnv: map[string]string{},
			Timeout: DefaultStrategyTimeout, OutputCap: DefaultOutputCap}
	}
	strat := func(allow ...string) Strategy {
		return Strategy{Timeout: DefaultStrategyTimeout, MemoryLimit: DefaultMemoryLimit,
			Allow: allow, Config: map[string]any{}}
	}
	// fenced runs agents without HOME, so kubectl's default discovery cache
	// (~/.kube/cache) is not there between fences, and a cold cache costs
	// every fence a full API discovery (8 requests instead of 1).
	kubectlNNF := strat("kubectl")
	kubectlNNF.Config["cache_dir"] = DefaultKubectlCacheDir
	return Config{
		LogDir:    DefaultLogDir,
		Hosts:     []string{},
		PluginDir: DefaultPluginDir,
		CacheDir:  DefaultCacheDir,
		Discovery: Discovery{
			Enabled:    true,
			Order:      slices.Clone(BuiltinStrategies),
			Budget:     DefaultBudget,
			Mode:       ModeBounded,
			FenceWait:  DefaultFenceWait,
			HedgeAfter: DefaultHedgeAfter,
		},
		Commands: map[string]Command{
			"kubectl":  cmd(DefaultKubectlPath, "KUBECONFIG", "HOME"),
			"pcs":      cmd(DefaultPcsPath),
			"crm_mon":  cmd("/usr/sbin/crm_mon"),
			"cibadmin": cmd("/usr/sbin/cibadmin"),
		},
		Strategies: map[string]Strategy{
			StrategyKubectlNNF: kubectlNNF,
			StrategyPcsStatus:  strat("crm_mon", "cibadmin", "pcs"),
			StrategyPcsConfig:  strat("pcs", "cibadmin"),
		},
		Safety:            Safety{PairingCheck: true},
		AllowedStdinPaths: []string{},
		Reporting:         defaultReporting(),
		StorageFence: StorageFence{RequestDir: DefaultRequestDir, ResponseDir: DefaultResponseDir,
			Timeout: DefaultFenceTimeout, PollInterval: DefaultPollInterval, CleanupMaxAge: DefaultCleanupMaxAge},
	}
}
