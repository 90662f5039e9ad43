package kubectlnnf

import (
	"errors"
	"strconv"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// Ways a mount was tied to its NnfStorage, written into the details.
const (
	byLabels    = "labels"         // ClientMount pinned_storage_profile_{namespace,name} + target_owner_uid
	byUID       = "nnfstorage-uid" // NnfStorage list matched on target_owner_uid
	byLabelOnly = "labels-unverified"
)

// mountUse is one in-use gfs2 mount of the node and what it was tied to.
type mountUse struct {
	cm          *clientMount
	index       int
	spec        mountSpec
	status      mountStatus
	storageNS   string
	storageName string
	storageUID  string
	storageType string // spec.fileSystemType, when the NnfStorage was read
	storageGone bool   // the NnfStorage has a deletionTimestamp
	how         string // byLabels, byUID or byLabelOnly
	note        string // why the identification is weaker than usual
	lockTable   string
}

func (u *mountUse) storage() string { return u.storageNS + "/" + u.storageName }

// discover answers "which GFS2 file systems is this node using" from the
// node's ClientMounts. Policy for naming each file system's NnfStorage
// (documented in README.md):
//
//   - One kubectl call when every in-use gfs2 ClientMount carries the
//     pinned_storage_profile_{namespace,name} and target_owner_uid labels and
//     they agree with each other (one uid per name and one name per uid).
//     nnf-sos names the pinned profile after the NnfStorage.
//   - A second call, `kubectl get nnfstorages -A`, matched on uid, when labels
//     are missing or disagree, or when verify_nnfstorage is set. If that
//     call fails but the labels are complete, the labels are used and the
//     failure is recorded; otherwise discovery fails.
func Discover(ctx plugin.Context, req plugin.Request) (plugin.Result, error) {
	log := ctx.Logger()
	details := map[string]any{"kubectl_calls": 0}
	s, err := parseSettings(req.Config)
	if len(s.warnings) > 0 {
		details["config_warnings"] = s.warnings
		for _, w := range s.warnings {
			log.Warn(w)
		}
	}
	if err != nil {
		return plugin.Result{Details: details}, err
	}
	ns, err := namespaceFor(req.Node, s)
	if err != nil {
		return plugin.Result{Details: details}, err
	}
	details["namespace"] = ns
	k := &kubectl{ctx: ctx, flags: s.kubectlFlags()}
	fail := func(err error) (plugin.Result, error) {
		details["kubectl_calls"] = k.calls
		if len(k.fallbacks) > 0 {
			details["version_fallbacks"] = k.fallbacks
		}
		return plugin.Result{Details: details}, err
	}

	out, err := k.getResource("ClientMounts in namespace "+ns, "clientmounts", dwsGroup, s.clientMountVersion, "-n", ns)
	if err != nil {
		return fail(err)
	}
	list, err := parseClientMounts(out)
	if err != nil {
		return fail(err)
	}
	uses, notes := selectInUse(list, ns)
	details["clientmounts"] = len(list.items)
	details["gfs2_mounts"] = notes.gfs2
	details["in_use"] = len(uses)
	if len(notes.ignored) > 0 {
		details["not_in_use"] = notes.ignored
	}
	if skipped := append(list.skipped, notes.skipped...); len(skipped) > 0 {
		details["skipped"] = skipped
		log.Warn("kubectl-nnf: skipped unexpected ClientMount items", "node", req.Node, "skipped", skipped)
	}
	if len(notes.versions) > 0 {
		details["api_versions"] = notes.versions
	}
	if len(notes.unknownVersions) > 0 {
		details["unknown_api_versions"] = notes.unknownVersions
		log.Warn("kubectl-nnf: ClientMount API version not checked by this strategy; fields read as in v1alpha7", "versions", notes.unknownVersions)
	}

	how, err := identify(uses, s, k, details, log)
	if err != nil {
		return fail(err)
	}
	if how != "" {
		details["identified_by"] = how
	}
	if s.lockTable && len(uses) > 0 {
		addLockTables(uses, s, k, details, log)
	}
	details["kubectl_calls"] = k.calls
	if len(k.fallbacks) > 0 {
		details["version_fallbacks"] = k.fallbacks
		log.Warn("kubectl-nnf: pinned API version not served; set clientmount_version/nnf_version", "fallbacks", k.fallbacks)
	}

	sortUses(uses)
	var names []string
	mounts := make([]map[string]any, 0, len(uses))
	for _, u := range uses {
		if len(names) == 0 || names[len(names)-1] != u.storage() {
			names = append(names, u.storage())
		}
		mounts = append(mounts, u.detail())
	}
	details["mounts"] = mounts
	log.Debug("kubectl-nnf: answered", "node", req.Node, "filesystems", names, "kubectl_calls", k.calls)
	return plugin.Result{Filesystems: names, Details: details}, nil
}

// selectNotes is what selectInUse saw besides the in-use mounts.
type selectNotes struct {
	gfs2            int
	ignored         []string // gfs2 mounts not in use, with the reason
	skipped         []string // items outside the namespace
	versions        []string // distinct apiVersions
	unknownVersions []string
}

// selectInUse keeps the in-use gfs2 mounts of ClientMounts in namespace ns.
// The namespace is compared exactly: compute-node-3 never matches
// compute-node-30.
func selectInUse(list clientMountList, ns string) ([]*mountUse, selectNotes) {
	var uses []*mountUse
	var n selectNotes
	seen := map[string]bool{}
	for i := range list.items {
		cm := &list.items[i]
		if cm.namespace != ns {
			n.skipped = append(n.skipped, cm.namespace+"/"+cm.name+" is not in namespace "+ns)
			continue
		}
		if cm.apiVersion != "" && !seen[cm.apiVersion] {
			seen[cm.apiVersion] = true
			n.versions = append(n.versions, cm.apiVersion)
			if !knownDWSVersions[cm.apiVersion] {
				n.unknownVersions = append(n.unknownVersions, cm.apiVersion)
			}
		}
		for j, m := range cm.mounts {
			if m.fsType != "gfs2" {
				continue
			}
			n.gfs2++
			use, st := cm.inUse(j)
			if !use {
				why := "unmounted and ready"
				if !st.present {
					why = "no status and desiredState unmounted"
				}
				n.ignored = append(n.ignored, cm.namespace+"/"+cm.name+" mount "+strconv.Itoa(j)+": "+why)
				continue
			}
			uses = append(uses, &mountUse{cm: cm, index: j, spec: m, status: st})
		}
	}
	sortStrings(n.versions)
	return uses, n
}

// labelsComplete reports whether every use carries all three identifying
// labels and they are consistent across uses.
func labelsComplete(uses []*mountUse) bool {
	nameOf := map[string]string{}
	uidOf := map[string]string{}
	for _, u := range uses {
		uid, ns, name := u.cm.labels[labelTargetUID], u.cm.labels[labelProfileNS], u.cm.labels[labelProfileName]
		if uid == "" || ns == "" || name == "" {
			return false
		}
		id := ns + "/" + name
		if prev, ok := nameOf[uid]; ok && prev != id {
			return false
		}
		if prev, ok := uidOf[id]; ok && prev != uid {
			return false
		}
		nameOf[uid], uidOf[id] = id, uid
	}
	return true
}

// identify ties each use to its NnfStorage (see discover for the policy) and
// returns how.
func identify(uses []*mountUse, s settings, k *kubectl, details map[string]any, log *plugin.Logger) (string, error) {
	if len(uses) == 0 {
		return "", nil
	}
	complete := labelsComplete(uses)
	fromLabels := func(how string) {
		for _, u := range uses {
			u.storageNS, u.storageName = u.cm.labels[labelProfileNS], u.cm.labels[labelProfileName]
			u.storageUID, u.how = u.cm.labels[labelTargetUID], how
		}
	}
	if complete && !s.verify {
		fromLabels(byLabels)
		return byLabels, nil
	}
	if !complete {
		details["labels_incomplete"] = true
	}
	out, err := k.getResource("NnfStorages in all namespaces", "nnfstorages", nnfGroup, s.nnfVersion, "-A")
	var storages []nnfObject
	if err == nil {
		storages, err = parseNnfObjects(out, kindNnfStorage)
	}
	if err != nil {
		if complete {
			details["nnfstorage_error"] = err.Error()
			log.Warn("kubectl-nnf: NnfStorages unreadable; naming file systems from ClientMount labels", "error", err)
			fromLabels(byLabelOnly)
			return byLabelOnly, nil
		}
		return "", errors.New("ClientMount labels do not name every NnfStorage and the NnfStorages could not be read: " + err.Error())
	}
	byUIDs := map[string]*nnfObject{}
	byName := map[string]*nnfObject{}
	for i := range storages {
		o := &storages[i]
		if o.uid != "" {
			byUIDs[o.uid] = o
		}
		byName[o.namespace+"/"+o.name] = o
	}
	var unresolved []string
	for _, u := range uses {
		uid, ns, name := u.cm.labels[labelTargetUID], u.cm.labels[labelProfileNS], u.cm.labels[labelProfileName]
		if o, ok := byUIDs[uid]; ok && uid != "" {
			u.storageNS, u.storageName, u.storageUID, u.storageType, u.how = o.namespace, o.name, o.uid, o.fsType, byUID
			u.storageGone = o.deleting
			if ns != "" && name != "" && ns+"/"+name != o.namespace+"/"+o.name {
				u.note = "labels name " + ns + "/" + name + " but the uid belongs to " + o.namespace + "/" + o.name
			}
			continue
		}
		if ns == "" || name == "" {
			why := "no " + labelTargetUID + " label"
			if uid != "" {
				why = "no NnfStorage has uid " + uid
			}
			unresolved = append(unresolved, u.cm.namespace+"/"+u.cm.name+" mount "+strconv.Itoa(u.index)+" ("+why+", no pinned_storage_profile labels)")
			continue
		}
		u.storageNS, u.storageName, u.storageUID, u.how = ns, name, uid, byLabelOnly
		if o, ok := byName[ns+"/"+name]; ok {
			u.storageType, u.storageGone = o.fsType, o.deleting
			if uid == "" {
				u.storageUID = o.uid
				u.note = "no uid label; matched the NnfStorage by name"
			} else {
				u.note = "NnfStorage " + ns + "/" + name + " has uid " + o.uid + ", the label says " + uid
			}
		} else if uid != "" {
			u.note = "no NnfStorage has uid " + uid + " (deleted?); named from labels"
		} else {
			u.note = "no uid label and no NnfStorage " + ns + "/" + name + "; named from labels"
		}
	}
	if len(unresolved) > 0 {
		details["unresolved"] = unresolved
		return "", errors.New("cannot name the NnfStorage of " + strconv.Itoa(len(unresolved)) + " in-use gfs2 mount(s): " + strings.Join(unresolved, "; "))
	}
	return byUID, nil
}

// addLockTables derives each mount's GFS2 lock table
// (<rabbit>:fs-<kk>-<hex of the first 5 characters of the NnfNodeStorage
// uid>), with one kubectl call per rabbit. A failure here only loses the
// lock tables: it is recorded, not fatal.
func addLockTables(uses []*mountUse, s settings, k *kubectl, details map[string]any, log *plugin.Logger) {
	byRabbit := map[string][]string{}
	for _, u := range uses {
		if u.spec.refKind != kindNnfNodeStorage || u.spec.refNamespace == "" || u.spec.refName == "" {
			continue
		}
		names := byRabbit[u.spec.refNamespace]
		if !containsString(names, u.spec.refName) {
			byRabbit[u.spec.refNamespace] = append(names, u.spec.refName)
		}
	}
	rabbits := make([]string, 0, len(byRabbit))
	for r := range byRabbit {
		rabbits = append(rabbits, r)
	}
	sortStrings(rabbits)
	uids := map[string]string{} // rabbit/name -> uid
	var errs []string
	for _, rabbit := range rabbits {
		names := byRabbit[rabbit]
		sortStrings(names)
		out, err := k.getResource("NnfNodeStorages in namespace "+rabbit, "nnfnodestorages", nnfGroup, s.nnfVersion,
			append([]string{"-n", rabbit}, names...)...)
		var objs []nnfObject
		if err == nil {
			objs, err = parseNnfObjects(out, kindNnfNodeStorage)
		}
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for _, o := range objs {
			uids[o.namespace+"/"+o.name] = o.uid
		}
	}
	if len(errs) > 0 {
		details["lock_table_error"] = strings.Join(errs, "; ")
		log.Warn("kubectl-nnf: lock tables not derived", "error", details["lock_table_error"])
	}
	for _, u := range uses {
		uid := uids[u.spec.refNamespace+"/"+u.spec.refName]
		if len(uid) < 5 || u.spec.allocationIndex < 0 || u.spec.allocationIndex > 99 {
			continue
		}
		idx := strconv.FormatInt(u.spec.allocationIndex, 10)
		if len(idx) < 2 {
			idx = "0" + idx
		}
		u.lockTable = u.spec.refNamespace + ":fs-" + idx + "-" + hexString(uid[:5])
	}
}

// detail is the per-mount evidence written into the attempt record; keys
// follow testdata/nnf/fixtures/expected.json.
func (u *mountUse) detail() map[string]any {
	d := map[string]any{
		"nnfStorage":   u.storage(),
		"clientMount":  u.cm.namespace + "/" + u.cm.name,
		"mountIndex":   u.index,
		"mountPath":    u.spec.mountPath,
		"identifiedBy": u.how,
		"desiredState": u.cm.desiredState,
	}
	put := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	put("nnfStorageUID", u.storageUID)
	put("nnfStorageType", u.storageType)
	put("volumeGroup", u.spec.volumeGroup)
	put("logicalVolume", u.spec.logicalVolume)
	put("lockTable", u.lockTable)
	put("note", u.note)
	if u.spec.refKind == kindNnfNodeStorage {
		d["rabbit"] = u.spec.refNamespace
		d["nnfNodeStorage"] = u.spec.refNamespace + "/" + u.spec.refName
		d["allocationIndex"] = int(u.spec.allocationIndex)
	}
	if u.status.present {
		d["state"] = u.status.state
		d["ready"] = u.status.ready
	} else {
		d["state"] = "no-status"
	}
	if u.cm.deleting {
		d["deleting"] = true
	}
	if u.storageGone {
		d["nnfStorageDeleting"] = true
	}
	return d
}

func hexString(s string) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, digits[s[i]>>4], digits[s[i]&15])
	}
	return string(b)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sortStrings and sortUses are insertion sorts: the lists hold a handful of
// entries, and package slices' generic pdqsort would add ~40 KB to the guest.
func sortStrings(a []string) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// sortUses orders uses by NnfStorage, then ClientMount, then mount index.
func sortUses(u []*mountUse) {
	less := func(a, b *mountUse) bool {
		if a.storage() != b.storage() {
			return a.storage() < b.storage()
		}
		if a.cm.name != b.cm.name {
			return a.cm.name < b.cm.name
		}
		return a.index < b.index
	}
	for i := 1; i < len(u); i++ {
		for j := i; j > 0 && less(u[j], u[j-1]); j-- {
			u[j], u[j-1] = u[j-1], u[j]
		}
	}
}
