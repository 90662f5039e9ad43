// Package k8sevent is the built-in k8s-event reporter: one core/v1 Event
// per fence record, created with kubectl, so `kubectl get events -A
// --field-selector reason=ComputeFenced` lists every fence of the system
// and `kubectl describe` of the recording rabbit's DWS Storage shows its
// own (docs/REPORTING.md has the choice, the RBAC Role and the queries).
//
// The Event's name is derived from the record's event_id, so delivering a
// record twice (delivery is at least once) creates one Event: the second
// create is answered AlreadyExists, which counts as delivered.
package k8sevent

import (
	"errors"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// Name is the reporter's name in reporting.order.
const Name = "k8s-event"

// Event reasons.
const (
	// ReasonFenced: a fence action was recorded (inline discovery, or the
	// pending first record of deferred discovery).
	ReasonFenced = "ComputeFenced"
	// ReasonDiscoveryCompleted: the second record of a deferred event,
	// which replaces "discovery-pending" by the answer.
	ReasonDiscoveryCompleted = "ComputeFenceDiscoveryCompleted"
)

// The involved object: the DWS Storage of the recording rabbit, one per
// rabbit in namespace default, named after the rabbit.
const (
	storageAPIVersion = "dataworkflowservices.github.io/v1alpha7"
	storageKind       = "Storage"
	storageResource   = "storages.dataworkflowservices.github.io"
	defaultNamespace  = "default"
)

// Report creates the Event of one record.
//
// Config (reporting.reporters.k8s-event.config): command (the logical
// command name of kubectl, default "kubectl"), kubeconfig (passed as
// --kubeconfig), cache_dir (kubectl's --cache-dir), namespace (of the
// Storage and the Event, default "default"), request_timeout (kubectl's,
// default "5s").
func Report(ctx plugin.Context, rep plugin.Report) error {
	rec, err := parseRecord(rep.Record)
	if err != nil {
		return err
	}
	ns := rep.ConfigString("namespace", defaultNamespace)
	kubectl, base := kubectlCommand(rep), kubectlBase(rep)
	uid, err := storageUID(ctx, kubectl, base, ns, rec.RecorderNode)
	if err != nil {
		return err
	}
	if uid == "" {
		ctx.Logger().Warn("no DWS Storage " + ns + "/" + rec.RecorderNode + ": the Event is created without its uid, so kubectl describe of that Storage will not show it")
	}
	body, err := eventBody(rec, ns, uid)
	if err != nil {
		return err
	}
	res, err := plugin.ExecInput(ctx, body, kubectl, append(base, "create", "--validate=false", "-f", "-", "-o", "name")...)
	if err != nil {
		return err
	}
	if failedWith(res, "AlreadyExists") {
		ctx.Logger().Debug("event " + eventName(rec) + " exists already: delivered before")
		return nil
	}
	if err := res.Err(); err != nil {
		return errors.New("kubectl create event " + eventName(rec) + ": " + err.Error())
	}
	return nil
}

// kubectlCommand is the logical command name the reporter runs kubectl as
// (a key of commands, granted in reporting.reporters.k8s-event.allow).
func kubectlCommand(rep plugin.Report) string { return rep.ConfigString("command", "kubectl") }

func kubectlBase(rep plugin.Report) []string {
	var args []string
	if kc := rep.ConfigString("kubeconfig", ""); kc != "" {
		args = append(args, "--kubeconfig", kc)
	}
	if dir := rep.ConfigString("cache_dir", ""); dir != "" {
		args = append(args, "--cache-dir", dir) // fenced runs agents without HOME
	}
	return append(args, "--request-timeout", rep.ConfigString("request_timeout", "5s"))
}

// failedWith: kubectl ran to its end and failed with reason (the API
// status reason it prints on stderr).
func failedWith(res *plugin.ExecResult, reason string) bool {
	return res.ExitCode != 0 && !res.TimedOut && strings.Contains(string(res.Stderr), reason)
}

// storageUID reads the uid of the rabbit's Storage: kubectl describe finds
// an object's Events by kind, name, namespace and uid. "" when there is no
// such Storage; an error for anything else (unreachable, forbidden), which
// keeps the record in the spool.
func storageUID(ctx plugin.Context, kubectl string, base []string, ns, rabbit string) (string, error) {
	if rabbit == "" {
		return "", nil
	}
	res, err := ctx.Exec(kubectl, append(base, "get", storageResource, rabbit, "-n", ns,
		"-o", "jsonpath={.metadata.uid}")...)
	if err != nil {
		return "", err
	}
	if failedWith(res, "NotFound") {
		return "", nil
	}
	if err := res.Err(); err != nil {
		return "", errors.New("kubectl get storage " + ns + "/" + rabbit + ": " + err.Error())
	}
	return strings.TrimSpace(string(res.Stdout)), nil
}
