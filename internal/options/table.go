// Package options is the fence-agent option table and everything derived
// from it: argv parsing, stdin parsing, the metadata XML Pacemaker reads, the
// --help text and the README options section.
//
// Like fence-agents' lib/fencing.py (all_opt), one table drives them all, so
// an option can never be accepted on argv but missing from the metadata, or
// documented but not parsed.
package options

import (
	"strconv"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
)

// Kind is the value type of an option, as the metadata <content type> names it.
type Kind string

const (
	String  Kind = "string"
	Boolean Kind = "boolean"
	Second  Kind = "second"
	Integer Kind = "integer"
)

// Option is one row of the table.
type Option struct {
	// Name is the stdin key and the metadata parameter name.
	Name string
	// StdinAliases are further stdin keys for the same option (legacy names).
	StdinAliases []string
	// Short is the one-letter argv flag ("o" for -o); "" for none.
	Short string
	// Long is the argv long flag without dashes; "" when the option is
	// stdin-only.
	Long string
	// ArgName names the value in help and metadata ("action" -> --action=[action]);
	// "" for a flag that takes no value.
	ArgName string
	Kind    Kind
	// Default is shown in help and metadata; "" for none.
	Default string
	Desc    string
	// ConfigKey is the koanf key the value overrides; "" when the option is
	// not configuration (action, target, help...).
	ConfigKey string
	// Inverted: the argv flag sets the boolean to false (--no-gfs2-discovery
	// versus gfs2_discovery=1 on stdin).
	Inverted bool
	// Deprecated and Obsoletes mirror fence-agents' port/plug pair.
	Deprecated bool
	Obsoletes  string
	// Required marks the metadata parameter required="1" (only action, as in
	// fence-agents).
	Required bool
	// Hidden options are parsed but appear in neither help, metadata nor README.
	Hidden bool
	// NotInMetadata options are argv-only conveniences for humans.
	NotInMetadata bool
	// Command options make the agent do something other than an action
	// (help, version, show config); they are argv-only.
	Command bool
	// Parse, when set, converts the value instead of the Kind's parser.
	Parse func(v string) (any, error)
}

// Names of the options the agent reads.
const (
	Action        = "action"
	Nodename      = "nodename"
	Plug          = "plug"
	Port          = "port"
	LogDir        = "log_dir"
	GFS2Discovery = "gfs2_discovery"
	KubectlCmd    = "kubectl_cmd"
	PcsCmd        = "pcs_cmd"
	PluginDir     = "plugin_dir"
	ConfigFile    = "config_file"
	Verbose       = "verbose"
	Delay         = "delay"
	Help          = "help"
	Version       = "version"
	ShowConfig    = "show_config"
	PrintMarkdown = "print_options_markdown"

	Quiet           = "quiet"
	DebugFile       = "debug_file"
	NNFStorageFence = "nnf_storage_fence"
	RequestDir      = "request_dir"
	ResponseDir     = "response_dir"
	FenceTimeout    = "fence_timeout"
	PollInterval    = "poll_interval"
)

// MaxDelaySeconds bounds --delay, the same bound the configuration applies
// to its delay key. Pacemaker's fence timeout (pcmk_off_timeout, 60 s by
// default) must be raised to match a long delay.
const MaxDelaySeconds = int(config.MaxDelay / time.Second)

// defaults are the configuration's built-in values: the Default column
// shows them for the options that set configuration keys, never a copy.
var defaults = config.Defaults()

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// Table is the option table, in help and metadata order.
var Table = []Option{
	{Name: Action, StdinAliases: []string{"option"}, Short: "o", Long: "action", ArgName: "action", Kind: String,
		Default: "reboot", Required: true,
		Desc: "Fencing action: on, off, reboot (recorded), status, list, monitor, metadata, validate-all"},
	{Name: Nodename, Long: "nodename", ArgName: "nodename", Kind: String,
		Desc: "Name of the node being fenced (Pacemaker sends it; it wins over plug and port)"},
	{Name: Plug, Short: "n", Long: "plug", ArgName: "id", Kind: String, Obsoletes: Port,
		Desc: "Node to act on, used when nodename is not given"},
	{Name: Port, Long: "port", ArgName: "id", Kind: String, Deprecated: true,
		Desc: "Node to act on (old name of plug)"},
	{Name: LogDir, Long: "log-dir", ArgName: "dir", Kind: String, Default: defaults.LogDir, ConfigKey: "log_dir",
		Desc: "Directory of the fence event logs"},
	{Name: GFS2Discovery, Long: "no-gfs2-discovery", Kind: Boolean, Default: boolString(defaults.Discovery.Enabled), ConfigKey: "discovery.enabled", Inverted: true,
		Desc: "Discover the GFS2 filesystems of the target node (argv: --no-gfs2-discovery turns it off)"},
	{Name: KubectlCmd, Long: "kubectl-cmd", ArgName: "path", Kind: String, Default: defaults.Commands["kubectl"].Path, ConfigKey: "commands.kubectl.path",
		Desc: "Absolute path of kubectl, granted to the kubectl-nnf strategy"},
	{Name: PcsCmd, Long: "pcs-cmd", ArgName: "path", Kind: String, Default: defaults.Commands["pcs"].Path, ConfigKey: "commands.pcs.path",
		Desc: "Absolute path of pcs, granted to the pcs-status and pcs-config strategies"},
	{Name: PluginDir, Long: "plugin-dir", ArgName: "dir", Kind: String, Default: defaults.PluginDir, ConfigKey: "plugin_dir",
		Desc: "Directory of site discovery strategies (.wasm)"},
	{Name: ConfigFile, Long: "config", ArgName: "file", Kind: String, Default: config.DefaultFile,
		Desc: "Configuration file (YAML); default also from $FENCE_GFS2_RECORDER_CONFIG"},
	{Name: Verbose, Short: "v", Long: "verbose", Kind: Boolean, ConfigKey: "verbose",
		Desc: "Verbose mode: debug-level operational log"},
	{Name: Delay, Long: "delay", ArgName: "seconds", Kind: Second, Default: seconds(defaults.Delay), ConfigKey: "delay",
		Desc: "Wait X seconds before recording an off or reboot (at most " + strconv.Itoa(MaxDelaySeconds) + ")"},
	{Name: NNFStorageFence, Long: "nnf-storage-fence", Kind: Boolean, Default: "0", ConfigKey: "storage_fence.enabled",
		Desc: "Storage-fence mode: fence by asking nnf-sos to cut the node's GFS2 storage (on by default when run as fence_recorder)"},
	{Name: RequestDir, Long: "request-dir", ArgName: "dir", Kind: String, Default: defaults.StorageFence.RequestDir, ConfigKey: "storage_fence.request_dir",
		Desc: "Storage-fence mode: directory nnf-sos reads fence requests from"},
	{Name: ResponseDir, Long: "response-dir", ArgName: "dir", Kind: String, Default: defaults.StorageFence.ResponseDir, ConfigKey: "storage_fence.response_dir",
		Desc: "Storage-fence mode: directory nnf-sos writes its answers (the fence markers) to"},
	{Name: FenceTimeout, Long: "fence-timeout", ArgName: "seconds", Kind: Second, Default: seconds(defaults.StorageFence.Timeout),
		ConfigKey: "storage_fence.timeout", Parse: fenceDuration("storage_fence.timeout"),
		Desc: "Storage-fence mode: longest wait for nnf-sos's answer (keep it below pcmk_off_timeout and pcmk_reboot_timeout)"},
	{Name: PollInterval, Long: "poll-interval", ArgName: "seconds", Kind: Second, Default: seconds(defaults.StorageFence.PollInterval),
		ConfigKey: "storage_fence.poll_interval", Parse: fenceDuration("storage_fence.poll_interval"),
		Desc: "Storage-fence mode: safety-net re-check of the answer beside inotify"},
	// fence-agents' -q and -D, which CIBs and scripts made for
	// fence_recorder may pass.
	{Name: Quiet, Short: "q", Long: "quiet", Kind: Boolean,
		Desc: "Accepted for fence-agents compatibility; no effect (the operational log always goes to log_dir)"},
	{Name: DebugFile, StdinAliases: []string{"debug"}, Short: "D", Long: "debug-file", ArgName: "file", Kind: String,
		Desc: "Accepted for fence-agents compatibility; no effect (use verbose for a debug-level operational log)"},
	{Name: Version, Short: "V", Long: "version", Kind: Boolean, Command: true,
		Desc: "Display version information and exit"},
	{Name: Help, Short: "h", Long: "help", Kind: Boolean, Command: true,
		Desc: "Display help and exit"},
	{Name: ShowConfig, Long: "show-config", Kind: Boolean, Command: true, NotInMetadata: true,
		Desc: "Print the effective configuration with the source of each value and exit (same as the config subcommand)"},
	{Name: PrintMarkdown, Long: "print-options-markdown", Kind: Boolean, Command: true, Hidden: true,
		Desc: "Print the README options table"},
}

// Actions the agent knows, in metadata order.
var Actions = []string{"on", "off", "reboot", "status", "list", "monitor", "metadata", "validate-all"}

// Subcommands accepted as the first argv word.
const (
	SubConfig  = "config"
	SubPlugins = "plugins"
	// SubMarkers and SubUnfence are the storage-fence admin commands:
	// list nnf-sos's fence markers, remove a node's.
	SubMarkers = "markers"
	SubUnfence = "unfence"
)

// Lookup returns the option whose stdin name or alias is key (already
// normalised: '-' replaced by '_').
func Lookup(key string) (*Option, bool) {
	for i := range Table {
		o := &Table[i]
		if o.Command {
			continue // help/version/show-config are argv-only
		}
		if o.Name == key {
			return o, true
		}
		for _, a := range o.StdinAliases {
			if a == key {
				return o, true
			}
		}
	}
	return nil, false
}

// lookupLong returns the option with the argv long flag name.
func lookupLong(name string) (*Option, bool) {
	for i := range Table {
		if Table[i].Long != "" && Table[i].Long == name {
			return &Table[i], true
		}
	}
	return nil, false
}

func lookupShort(c string) (*Option, bool) {
	for i := range Table {
		if Table[i].Short != "" && Table[i].Short == c {
			return &Table[i], true
		}
	}
	return nil, false
}

// IsAction reports whether a is an action the agent knows.
func IsAction(a string) bool {
	for _, k := range Actions {
		if k == a {
			return true
		}
	}
	return false
}

func fenceDuration(key string) func(string) (any, error) {
	return func(v string) (any, error) { return config.CheckFenceDuration(key, v) }
}
