package kubectlnnf

import (
	"errors"
	"strconv"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// kubectlCommand is the logical command name granted in the config
// (strategies.kubectl-nnf.allow, commands.kubectl).
const kubectlCommand = "kubectl"

// kubectl runs `kubectl get ... -o json` through the host and counts the
// processes it starts: each costs ~36 ms, which is why the strategy tries
// hard to need only one.
type kubectl struct {
	ctx   plugin.Context
	flags []string
	calls int
	// fallbacks records each pinned version the server did not serve.
	fallbacks []string
	// notServed is set by get when kubectl said the resource type is unknown.
	notServed bool
}

// resourceName is the fully qualified resource kubectl should get:
// plural.group, or plural.version.group when a version is pinned. Fully
// qualified names never collide with another group's short names.
func resourceName(plural, version, group string) string {
	if version != "" {
		return plural + "." + version + "." + group
	}
	return plural + "." + group
}

// getResource gets plural.group at the pinned version, with args after the
// resource name. When a default pin is not served it retries once with the
// server's preferred version and records that.
func (k *kubectl) getResource(what, plural, group string, pin versionPin, args ...string) ([]byte, error) {
	out, err := k.get(what, append([]string{resourceName(plural, pin.version, group)}, args...)...)
	if err != nil && k.notServed && pin.fallback && pin.version != "" {
		k.fallbacks = append(k.fallbacks, resourceName(plural, pin.version, group)+" is not served; used the server's preferred version")
		return k.get(what, append([]string{resourceName(plural, "", group)}, args...)...)
	}
	return out, err
}

// get runs `kubectl get <args> -o json <global flags>` and returns stdout.
// A non-zero exit is a failure even when stdout holds JSON: on a 403 kubectl
// prints an empty List and exits 1, and that list must not read as "no
// file systems".
func (k *kubectl) get(what string, args ...string) ([]byte, error) {
	argv := make([]string, 0, len(args)+3+len(k.flags))
	argv = append(argv, "get")
	argv = append(argv, args...)
	argv = append(argv, "-o", "json")
	argv = append(argv, k.flags...)
	k.calls++
	k.notServed = false
	res, err := k.ctx.Exec(kubectlCommand, argv...)
	if err != nil {
		if errors.Is(err, plugin.ErrDenied) {
			return nil, errors.New("kubectl is not granted to this strategy (strategies.kubectl-nnf.allow): " + err.Error())
		}
		return nil, errors.New("kubectl could not be run while listing " + what + ": " + err.Error())
	}
	switch {
	case res.TimedOut:
		return nil, errors.New("kubectl timed out while listing " + what)
	case res.ExitCode != 0:
		msg := "kubectl failed while listing " + what + " (exit status " + strconv.Itoa(res.ExitCode) + ")"
		if line := errorLine(res.Stderr); line != "" {
			msg += ": " + line
		}
		if strings.Contains(string(res.Stderr), "doesn't have a resource type") {
			k.notServed = true
			msg += " (the API server does not serve this resource at that version: are the DWS/NNF CRDs installed? see clientmount_version and nnf_version)"
		}
		return nil, errors.New(msg)
	case res.StdoutTruncated:
		return nil, errors.New("kubectl output while listing " + what + " exceeded the command's output cap (commands.kubectl.output_cap)")
	}
	return res.Stdout, nil
}

// errorLine picks the line of kubectl's stderr that says what went wrong:
// the last "error:"/"Error from server"/"Unable to connect" line, else the
// last non-empty line. klog warnings before it are noise.
func errorLine(stderr []byte) string {
	lines := strings.Split(strings.TrimSpace(string(stderr)), "\n")
	pick := ""
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if pick == "" {
			pick = l
		}
		if strings.HasPrefix(l, "error:") || strings.HasPrefix(l, "Error from server") || strings.HasPrefix(l, "Unable to connect") {
			pick = l
			break
		}
	}
	if len(pick) > 400 {
		pick = pick[:400] + "..."
	}
	return pick
}

// Needs is what the strategy declares it runs on every fence (fgr_info), so
// a missing grant is reported before a fence meets it.
var Needs = []plugin.Option{plugin.Needs(kubectlCommand)}
