package kubectlnnf

import (
	"errors"
	"strconv"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite"
)

// Labels nnf-sos puts on every ClientMount (see testdata/nnf README, §2).
const (
	labelTargetUID     = "nnf.cray.hpe.com/target_owner_uid"                 // metadata.uid of the NnfStorage
	labelProfileNS     = "nnf.cray.hpe.com/pinned_storage_profile_namespace" // the NnfStorage's namespace
	labelProfileName   = "nnf.cray.hpe.com/pinned_storage_profile_name"      // the NnfStorage's name
	dwsGroup           = "dataworkflowservices.github.io"
	nnfGroup           = "nnf.cray.hpe.com"
	kindClientMount    = "ClientMount"
	kindNnfStorage     = "NnfStorage"
	kindNnfNodeStorage = "NnfNodeStorage"
)

// knownDWSVersions are the ClientMount versions whose spec.mounts/status.mounts
// shape this strategy was checked against. Others are still read (the
// fields have not changed in years) but flagged in the details.
var knownDWSVersions = map[string]bool{dwsGroup + "/v1alpha6": true, dwsGroup + "/v1alpha7": true}

// clientMount is what the strategy needs of one DWS ClientMount.
type clientMount struct {
	apiVersion   string
	kind         string
	namespace    string
	name         string
	deleting     bool // metadata.deletionTimestamp set
	labels       map[string]string
	desiredState string
	mounts       []mountSpec
	hasStatus    bool
	status       []mountStatus
}

// mountSpec is one spec.mounts[i].
type mountSpec struct {
	fsType          string // "gfs2", "xfs", "lustre", "none"
	mountPath       string
	volumeGroup     string
	logicalVolume   string
	refKind         string // device.deviceReference.objectReference
	refNamespace    string // the rabbit, for NnfNodeStorage references
	refName         string
	allocationIndex int64 // device.deviceReference.data (omitted when 0)
}

// mountStatus is one status.mounts[i]; present is false when the field had
// an unexpected type or the entry is missing.
type mountStatus struct {
	present  bool
	state    string
	ready    bool
	hasReady bool
}

// clientMountList is the result of reading a `kubectl get -o json` list.
type clientMountList struct {
	items   []clientMount
	skipped []string // items that were not objects or not ClientMounts
}

// parseClientMounts streams a `kubectl get clientmounts -o json` document.
//
// Type policy: the document's structure must be valid JSON with an "items"
// array (else it is an error: the output is not what kubectl prints). Inside
// an item, a field with an unexpected type is treated as absent: a mount whose
// "type" is not a string is not gfs2; a status entry whose "ready" is not a
// boolean is not ready (so the mount still counts as in use); an item that is
// not an object is skipped and listed in the details.
func parseClientMounts(data []byte) (clientMountList, error) {
	var out clientMountList
	r := jsonlite.NewReader(data)
	sawItems := false
	err := r.Object(func(key string) error {
		if key != "items" {
			return nil
		}
		if r.Peek() != jsonlite.Array {
			return errors.New(`"items" is not a list`)
		}
		sawItems = true
		return r.Array(func(i int) error {
			if r.Peek() != jsonlite.Object {
				out.skipped = append(out.skipped, "items["+strconv.Itoa(i)+"] is not an object")
				return nil
			}
			cm, err := parseClientMount(r)
			if err != nil {
				return err
			}
			if cm.kind != "" && cm.kind != kindClientMount {
				out.skipped = append(out.skipped, "items["+strconv.Itoa(i)+"] is a "+cm.kind+", not a ClientMount")
				return nil
			}
			out.items = append(out.items, cm)
			return nil
		})
	})
	if err == nil {
		err = r.End()
	}
	if err != nil {
		return out, errors.New("kubectl printed unreadable ClientMount JSON: " + err.Error())
	}
	if !sawItems {
		return out, errors.New(`kubectl printed ClientMount JSON without an "items" list`)
	}
	return out, nil
}

func parseClientMount(r *jsonlite.Reader) (clientMount, error) {
	var cm clientMount
	err := r.Object(func(key string) error {
		var err error
		switch key {
		case "apiVersion":
			cm.apiVersion, err = optString(r)
		case "kind":
			cm.kind, err = optString(r)
		case "metadata":
			err = optObject(r, func(key string) error {
				var err error
				switch key {
				case "name":
					cm.name, err = optString(r)
				case "namespace":
					cm.namespace, err = optString(r)
				case "deletionTimestamp":
					var ts string
					ts, err = optString(r)
					cm.deleting = ts != ""
				case "labels":
					cm.labels, err = optStringMap(r)
				}
				return err
			})
		case "spec":
			err = optObject(r, func(key string) error {
				switch key {
				case "desiredState":
					var err error
					cm.desiredState, err = optString(r)
					return err
				case "mounts":
					return optArray(r, func(int) error {
						m, err := parseMountSpec(r)
						cm.mounts = append(cm.mounts, m)
						return err
					})
				}
				return nil
			})
		case "status":
			if r.Peek() != jsonlite.Object {
				return nil
			}
			cm.hasStatus = true
			err = r.Object(func(key string) error {
				if key != "mounts" {
					return nil
				}
				return optArray(r, func(int) error {
					st, err := parseMountStatus(r)
					cm.status = append(cm.status, st)
					return err
				})
			})
		}
		return err
	})
	return cm, err
}

// parseMountSpec reads one spec.mounts entry; a non-object entry stays in
// the list (indexes must keep matching status.mounts) as an empty mount.
func parseMountSpec(r *jsonlite.Reader) (mountSpec, error) {
	var m mountSpec
	err := optObject(r, func(key string) error {
		var err error
		switch key {
		case "type":
			m.fsType, err = optString(r)
		case "mountPath":
			m.mountPath, err = optString(r)
		case "device":
			err = optObject(r, func(key string) error {
				switch key {
				case "lvm":
					return optObject(r, func(key string) error {
						var err error
						switch key {
						case "volumeGroup":
							m.volumeGroup, err = optString(r)
						case "logicalVolume":
							m.logicalVolume, err = optString(r)
						}
						return err
					})
				case "deviceReference":
					return optObject(r, func(key string) error {
						switch key {
						case "data":
							n, ok, err := optInt(r)
							if ok {
								m.allocationIndex = n
							}
							return err
						case "objectReference":
							return optObject(r, func(key string) error {
								var err error
								switch key {
								case "kind":
									m.refKind, err = optString(r)
								case "namespace":
									m.refNamespace, err = optString(r)
								case "name":
									m.refName, err = optString(r)
								}
								return err
							})
						}
						return nil
					})
				}
				return nil
			})
		}
		return err
	})
	return m, err
}

func parseMountStatus(r *jsonlite.Reader) (mountStatus, error) {
	var st mountStatus
	if r.Peek() != jsonlite.Object {
		return st, nil
	}
	st.present = true
	err := r.Object(func(key string) error {
		var err error
		switch key {
		case "state":
			st.state, err = optString(r)
		case "ready":
			st.ready, st.hasReady, err = optBool(r)
		}
		return err
	})
	return st, err
}

// inUse applies the rule of testdata/nnf README §3 step 2 to mount i: it is in
// use unless its status says "unmounted" and ready, or, with no status for
// it, the desired state is "unmounted". A deletionTimestamp does not matter:
// an unmount that hangs during teardown is exactly when nodes get fenced.
func (cm *clientMount) inUse(i int) (bool, mountStatus) {
	var st mountStatus
	if cm.hasStatus && i < len(cm.status) {
		st = cm.status[i]
	}
	if st.present && st.state != "" {
		return !(st.state == "unmounted" && st.ready), st
	}
	return cm.desiredState != "unmounted", st
}

// --- typed reads that treat a value of another kind as absent ---
//
// Each leaves a mistyped value unread; the enclosing Object/Array skips it.

func optString(r *jsonlite.Reader) (string, error) {
	if r.Peek() != jsonlite.String {
		return "", nil
	}
	return r.String()
}

func optBool(r *jsonlite.Reader) (v, ok bool, err error) {
	if r.Peek() != jsonlite.Bool {
		return false, false, nil
	}
	v, err = r.Bool()
	return v, err == nil, err
}

func optInt(r *jsonlite.Reader) (int64, bool, error) {
	if r.Peek() != jsonlite.Number {
		return 0, false, nil
	}
	n, err := r.Int()
	if errors.Is(err, jsonlite.ErrMismatch) {
		return 0, false, nil // 1.5 or 1e99: not an index
	}
	return n, err == nil, err
}

func optObject(r *jsonlite.Reader, fn func(key string) error) error {
	if r.Peek() != jsonlite.Object {
		return nil
	}
	return r.Object(fn)
}

func optArray(r *jsonlite.Reader, fn func(i int) error) error {
	if r.Peek() != jsonlite.Array {
		return nil
	}
	return r.Array(fn)
}

func optStringMap(r *jsonlite.Reader) (map[string]string, error) {
	if r.Peek() != jsonlite.Object {
		return nil, nil
	}
	m := map[string]string{}
	err := r.Object(func(key string) error {
		if r.Peek() != jsonlite.String {
			return nil // a non-string label value counts as absent
		}
		v, err := r.String()
		m[key] = v
		return err
	})
	return m, err
}
