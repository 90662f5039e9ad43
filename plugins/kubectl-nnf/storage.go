package kubectlnnf

import (
	"errors"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite"
)

// nnfObject is the metadata (and for NnfStorage the file system type) of an
// nnf.cray.hpe.com object.
type nnfObject struct {
	kind      string
	namespace string
	name      string
	uid       string
	fsType    string // spec.fileSystemType
	deleting  bool
}

// parseNnfObjects streams a `kubectl get <nnf resource> -o json` document and
// keeps the objects of kind want. kubectl prints a List, except for a get of
// exactly one name, where it prints the object itself; both are accepted.
// Mistyped fields are treated as absent, as in parseClientMounts; objects of
// another kind are dropped.
func parseNnfObjects(data []byte, want string) ([]nnfObject, error) {
	var out []nnfObject
	var top nnfObject // the document itself, when it is a single object
	keep := func(o nnfObject) {
		if (o.kind == "" || o.kind == want) && o.name != "" {
			out = append(out, o)
		}
	}
	r := jsonlite.NewReader(data)
	sawItems := false
	err := r.Object(func(key string) error {
		if key != "items" {
			return readNnfField(r, key, &top)
		}
		if r.Peek() != jsonlite.Array {
			return errors.New(`"items" is not a list`)
		}
		sawItems = true
		return r.Array(func(int) error {
			var o nnfObject
			err := optObject(r, func(key string) error { return readNnfField(r, key, &o) })
			if err == nil {
				keep(o)
			}
			return err
		})
	})
	if err == nil {
		err = r.End()
	}
	if err != nil {
		return nil, errors.New("kubectl printed unreadable " + want + " JSON: " + err.Error())
	}
	if !sawItems {
		if top.kind != want {
			return nil, errors.New("kubectl printed " + want + ` JSON that is neither a list nor a ` + want)
		}
		keep(top)
	}
	return out, nil
}

// readNnfField reads the member key of an object into o.
func readNnfField(r *jsonlite.Reader, key string, o *nnfObject) error {
	var err error
	switch key {
	case "kind":
		o.kind, err = optString(r)
	case "metadata":
		err = optObject(r, func(key string) error {
			var err error
			switch key {
			case "name":
				o.name, err = optString(r)
			case "namespace":
				o.namespace, err = optString(r)
			case "uid":
				o.uid, err = optString(r)
			case "deletionTimestamp":
				var ts string
				ts, err = optString(r)
				o.deleting = ts != ""
			}
			return err
		})
	case "spec":
		err = optObject(r, func(key string) error {
			if key != "fileSystemType" {
				return nil
			}
			var err error
			o.fsType, err = optString(r)
			return err
		})
	}
	return err
}
