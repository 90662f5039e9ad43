package kubectlnnf

import (
	"errors"
	"strconv"
	"strings"
)

// settings is the strategy's own configuration (strategies.kubectl-nnf.config).
type settings struct {
	kubeconfig     string // --kubeconfig; "" = kubectl's default (KUBECONFIG, ~/.kube/config)
	context        string // --context
	requestTimeout string // --request-timeout, e.g. "4s"; "" = not passed
	cacheDir       string // --cache-dir for kubectl's discovery cache
	// stripDomain turns "compute-node-3.example.com" into "compute-node-3".
	// On by default: a Kubernetes namespace cannot contain a dot, so a
	// dotted name can never be looked up as it is.
	stripDomain bool
	// verify always lists NnfStorages and identifies mounts by uid, instead
	// of trusting the ClientMount labels when they are complete.
	verify bool
	// lockTable derives each mount's GFS2 lock table, which costs one
	// kubectl call per rabbit (the NnfNodeStorage uids).
	lockTable bool
	// clientMountVersion / nnfVersion pin the API versions kubectl asks for.
	clientMountVersion versionPin
	nnfVersion         versionPin

	warnings []string // unknown keys: reported, not fatal
}

// versionPin is the API version kubectl is asked for.
//
// Pinning is the default because of what kubectl does with the other fully
// qualified form: it first reads "clientmounts.dataworkflowservices.github.io"
// as resource.version.group (version "dataworkflowservices", group
// "github.io"), misses in its discovery cache, invalidates the whole cache and
// re-runs discovery on every call (8 requests instead of 1 against the fake
// server, about 4x the time). "clientmounts.v1alpha7.dataworkflowservices.github.io"
// is unambiguous and answered from the cache, and the API server converts
// objects to the version whose fields this strategy reads.
type versionPin struct {
	version string // "" = the server's preferred version (resource.group)
	// fallback retries with the server's preferred version when this one is
	// not served (a cluster upgraded past it). Only built-in defaults fall
	// back; a version the site pinned is kept.
	fallback bool
}

var (
	defaultDWSVersion = versionPin{version: "v1alpha7", fallback: true}
	defaultNNFVersion = versionPin{version: "v1alpha11", fallback: true}
)

var knownKeys = map[string]bool{
	"kubeconfig": true, "context": true, "request_timeout": true, "cache_dir": true,
	"strip_domain": true, "verify_nnfstorage": true, "lock_table": true,
	"clientmount_version": true, "nnf_version": true,
}

// parseSettings reads Request.Config. A value of the wrong type is an error
// (the strategy cannot honour it); an unknown key is only a warning, so a
// typo does not cost a fence record its discovery.
func parseSettings(cfg map[string]any) (settings, error) {
	s := settings{stripDomain: true, clientMountVersion: defaultDWSVersion, nnfVersion: defaultNNFVersion}
	var errs []string
	str := func(key string, dst *string) {
		switch v := cfg[key].(type) {
		case nil:
		case string:
			*dst = v
		default:
			errs = append(errs, key+": want a string, got "+typeName(v))
		}
	}
	boolean := func(key string, dst *bool) {
		switch v := cfg[key].(type) {
		case nil:
		case bool:
			*dst = v
		default:
			errs = append(errs, key+": want true or false, got "+typeName(v))
		}
	}
	str("kubeconfig", &s.kubeconfig)
	str("context", &s.context)
	str("cache_dir", &s.cacheDir)
	pin := func(key string, dst *versionPin) {
		switch v := cfg[key].(type) {
		case nil:
		case string:
			*dst = versionPin{version: v} // an explicit pin ("" = unpinned) is kept as given
		default:
			errs = append(errs, key+": want a string, got "+typeName(v))
		}
	}
	pin("clientmount_version", &s.clientMountVersion)
	pin("nnf_version", &s.nnfVersion)
	boolean("strip_domain", &s.stripDomain)
	boolean("verify_nnfstorage", &s.verify)
	boolean("lock_table", &s.lockTable)
	switch v := cfg["request_timeout"].(type) {
	case nil:
	case string:
		s.requestTimeout = v
	case float64: // YAML `request_timeout: 5` means seconds
		if v < 0 || v != float64(int64(v)) {
			errs = append(errs, "request_timeout: want whole seconds or a duration like \"4s\"")
		} else {
			s.requestTimeout = strconv.FormatInt(int64(v), 10) + "s"
		}
	default:
		errs = append(errs, "request_timeout: want a duration like \"4s\", got "+typeName(v))
	}
	if s.requestTimeout != "" && !plausibleDuration(s.requestTimeout) {
		errs = append(errs, "request_timeout: "+strconv.Quote(s.requestTimeout)+" is not a duration like \"4s\" or \"1m\"")
	}
	for _, v := range []struct{ key, val string }{{"clientmount_version", s.clientMountVersion.version}, {"nnf_version", s.nnfVersion.version}} {
		if v.val != "" && !isDNSLabel(v.val) {
			errs = append(errs, v.key+": "+strconv.Quote(v.val)+" is not an API version like \"v1alpha7\"")
		}
	}
	var unknown []string
	for k := range cfg {
		if !knownKeys[k] {
			unknown = append(unknown, k)
		}
	}
	sortStrings(unknown)
	for _, k := range unknown {
		s.warnings = append(s.warnings, "unknown config key "+strconv.Quote(k)+" ignored")
	}
	if len(errs) > 0 {
		return s, errors.New("config: " + strings.Join(errs, "; "))
	}
	return s, nil
}

// kubectlFlags are the global flags every kubectl call gets. The --flag=value
// form keeps a value from ever being read as another flag.
func (s settings) kubectlFlags() []string {
	var f []string
	add := func(name, v string) {
		if v != "" {
			f = append(f, "--"+name+"="+v)
		}
	}
	add("kubeconfig", s.kubeconfig)
	add("context", s.context)
	add("request-timeout", s.requestTimeout)
	add("cache-dir", s.cacheDir)
	return f
}

// plausibleDuration accepts what kubectl's --request-timeout accepts in
// practice: a bare integer (seconds) or Go duration units.
func plausibleDuration(d string) bool {
	if d == "" {
		return false
	}
	digits := false
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c >= '0' && c <= '9', c == '.':
			digits = true
		case strings.IndexByte("hmsun", c) >= 0 || c >= 0x80 /* µs */ :
			if !digits {
				return false
			}
		default:
			return false
		}
	}
	return digits
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return "an unsupported value"
}

// namespaceFor maps a Pacemaker node name to the Kubernetes namespace of its
// ClientMounts: the node's short name, which must be a DNS-1123 label.
func namespaceFor(node string, s settings) (string, error) {
	ns := node
	if s.stripDomain {
		if i := strings.IndexByte(ns, '.'); i > 0 {
			ns = ns[:i]
		}
	}
	if !isDNSLabel(ns) {
		why := "a Kubernetes namespace is 1-63 lower-case letters, digits and '-'"
		if strings.IndexByte(ns, '.') >= 0 {
			why += "; set strip_domain: true to use the short name"
		}
		return "", errors.New("node name " + strconv.Quote(node) + " cannot be a ClientMount namespace: " + why)
	}
	return ns, nil
}

// isDNSLabel reports whether s is an RFC 1123 label, the syntax of a
// Kubernetes namespace.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}
