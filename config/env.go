package config

import (
	"fmt"
	"strings"
)

// Environment variable names.
const (
	// EnvPrefix marks variables that set any key: the rest of the name is
	// the key with "__" between levels, e.g.
	// FENCE_GFS2_RECORDER_DISCOVERY__ORDER=pcs-status,pcs-config.
	EnvPrefix = "FENCE_GFS2_RECORDER_"
	// EnvConfigFile names the YAML file; it is not a key.
	EnvConfigFile = EnvPrefix + "CONFIG"
)

// legacyEnv are the names the reference shell agent read. A variable
// with the EnvPrefix form wins over its legacy name when both are set.
// An empty legacy variable counts as unset, as ${KUBECTL_CMD:-kubectl} did.
var legacyEnv = map[string]string{
	"GFS2_DISCOVERY_ENABLED": "discovery.enabled",
	"KUBECTL_CMD":            "commands.kubectl.path",
	"PCS_CMD":                "commands.pcs.path",
	"LOG_DIR":                "log_dir",
}

// storageEnv are the names nnf-sos (the directories) and the upstream
// fence_recorder agent (the waits) read. As upstream does, a value that
// does not parse is dropped with a warning and the lower layer's value is
// used: a typo in pacemaker-fenced's environment must not stop a fence.
var storageEnv = map[string]string{
	"NNF_FENCE_REQUEST_DIR":  "storage_fence.request_dir",
	"NNF_FENCE_RESPONSE_DIR": "storage_fence.response_dir",
	"FENCE_TIMEOUT":          "storage_fence.timeout",
	"POLL_INTERVAL":          "storage_fence.poll_interval",
	"CLEANUP_MAX_AGE":        "storage_fence.cleanup_max_age",
}

// checkStorageEnv is "" when value is usable for key.
func checkStorageEnv(key, value string) string {
	switch key {
	case "storage_fence.request_dir", "storage_fence.response_dir":
		if !strings.HasPrefix(value, "/") || hasControl(value) {
			return fmt.Sprintf("%q is not an absolute path", value)
		}
		return ""
	}
	_, err := CheckFenceDuration(key, value)
	if err != nil {
		return err.Error()
	}
	return ""
}

// dedupEnviron keeps the first of duplicate names, as os.Getenv does, and
// drops entries without "=".
func dedupEnviron(environ []string) ([]string, map[string]string) {
	m := make(map[string]string, len(environ))
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if _, dup := m[k]; dup {
			continue
		}
		m[k] = v
		out = append(out, kv)
	}
	return out, m
}

// envKey maps the part of a variable name after EnvPrefix to a key.
// Levels are separated by "__" and lower-cased, except where the level is
// a name the site chose:
//   - a command or strategy name matches an existing name (built in, or
//     declared in the file) ignoring case and treating "-" and "_" alike,
//     so KUBECTL_NNF addresses kubectl-nnf and CRM_MON crm_mon; a new
//     strategy name is lower-cased with "_" turned into "-", a new command
//     name is lower-cased;
//   - a set_env variable name keeps its case;
//   - a strategy config key is lower-cased.
func envKey(rest string, commands, strategies []string) string {
	segs := strings.Split(rest, "__")
	segs[0] = strings.ToLower(segs[0])
	section := segs[0]
	for i := 1; i < len(segs); i++ {
		switch {
		case i == 1 && section == "commands":
			segs[i] = matchName(segs[i], commands, false)
		case i == 1 && section == "strategies":
			segs[i] = matchName(segs[i], strategies, true)
		case i == 2 && section == "reporting" && strings.EqualFold(segs[1], "reporters"):
			segs[i] = matchName(segs[i], BuiltinReporters, true) // named like strategies
		case i == 3 && section == "commands" && segs[2] == "set_env":
			// keep the variable's case
		default:
			segs[i] = strings.ToLower(segs[i])
		}
	}
	return strings.Join(segs, ".")
}

func matchName(seg string, known []string, hyphen bool) string {
	for _, k := range known {
		if sameName(seg, k) {
			return k
		}
	}
	s := strings.ToLower(seg)
	if hyphen {
		s = strings.ReplaceAll(s, "_", "-")
	}
	return s
}

// sameName compares ignoring ASCII case and treating '-' and '_' alike.
func sameName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := fold(a[i]), fold(b[i])
		if x != y {
			return false
		}
	}
	return true
}

func fold(b byte) byte {
	switch {
	case b >= 'A' && b <= 'Z':
		return b + 'a' - 'A'
	case b == '-':
		return '_'
	}
	return b
}
