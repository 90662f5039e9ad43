package k8sevent

import (
	"errors"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite"
)

// AnnotationPrefix starts every annotation the reporter sets.
const AnnotationPrefix = "fence-recorder.nearnodeflash.github.io/"

// record is what the Event needs of a fence record.
type record struct {
	EventID        string
	Timestamp      string
	Action         string
	TargetNode     string
	RecorderNode   string
	Filesystems    []string
	DiscoveryState string
	Strategy       string
}

func parseRecord(raw []byte) (record, error) {
	var rec record
	r := jsonlite.NewReader(raw)
	err := r.Object(func(key string) error {
		var err error
		switch key {
		case "event_id":
			rec.EventID, err = r.String()
		case "timestamp":
			rec.Timestamp, err = r.String()
		case "action":
			rec.Action, err = r.String()
		case "target_node":
			rec.TargetNode, err = r.String()
		case "recorder_node":
			rec.RecorderNode, err = r.String()
		case "gfs2_filesystems":
			err = r.Array(func(int) error {
				s, err := r.String()
				rec.Filesystems = append(rec.Filesystems, s)
				return err
			})
		case "discovery":
			err = r.Object(func(key string) error {
				switch key {
				case "state":
					s, err := r.String()
					rec.DiscoveryState = s
					return err
				case "strategy":
					if r.Peek() == jsonlite.Null {
						return r.Null()
					}
					s, err := r.String()
					rec.Strategy = s
					return err
				}
				return r.Skip()
			})
		default:
			err = r.Skip()
		}
		return err
	})
	if err == nil {
		err = r.End()
	}
	if err != nil {
		return record{}, errors.New("k8s-event: the record is not a fence record: " + err.Error())
	}
	if !validEventID(rec.EventID) {
		return record{}, errors.New("k8s-event: the record's event_id " + quote(rec.EventID) + " cannot name an Event")
	}
	return rec, nil
}

// validEventID: the Event's name is built from it, so it must be a DNS
// subdomain piece: lowercase letters, digits and '-' (a UUID is).
func validEventID(id string) bool {
	if id == "" || len(id) > 200 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return id[0] != '-' && id[len(id)-1] != '-'
}

// completion says whether rec is the second record of a deferred event.
func (rec record) completion() bool {
	return rec.DiscoveryState == "complete" || rec.DiscoveryState == "failed"
}

func reason(rec record) string {
	if rec.completion() {
		return ReasonDiscoveryCompleted
	}
	return ReasonFenced
}

// eventName is deterministic from event_id: a record delivered twice
// creates one Event. A deferred event's two records make two Events.
func eventName(rec record) string {
	if rec.completion() {
		return "fence-" + rec.EventID + "-discovery"
	}
	return "fence-" + rec.EventID
}

// message is what `kubectl get events` shows in its MESSAGE column.
func message(rec record) string {
	var b strings.Builder
	if rec.completion() {
		b.WriteString("Discovery for the " + rec.Action + " of " + rec.TargetNode + " " + rec.DiscoveryState)
	} else {
		b.WriteString("Fence action " + rec.Action + " of " + rec.TargetNode)
	}
	b.WriteString(" recorded by " + rec.RecorderNode + "; GFS2 filesystems: " + strings.Join(rec.Filesystems, ", "))
	b.WriteString("; event_id " + rec.EventID)
	return b.String()
}

// eventTime is the record's timestamp at second precision, the form
// Event.firstTimestamp takes.
func eventTime(ts string) string {
	if i := strings.IndexByte(ts, '.'); i > 0 && strings.HasSuffix(ts, "Z") {
		return ts[:i] + "Z"
	}
	return ts
}

// eventBody is the core/v1 Event for rec, involving the rabbit's DWS
// Storage ns/<recorder_node> (uid "" when it was not found).
func eventBody(rec record, ns, uid string) ([]byte, error) {
	at := eventTime(rec.Timestamp)
	fsJSON := jsonlite.NewWriter(nil)
	fsJSON.ArrayStart()
	for _, fs := range rec.Filesystems {
		fsJSON.String(fs)
	}
	fsJSON.ArrayEnd()

	w := jsonlite.NewWriter(make([]byte, 0, 1024))
	w.ObjectStart()
	str := func(k, v string) { w.Key(k); w.String(v) }
	str("apiVersion", "v1")
	str("kind", "Event")
	w.Key("metadata")
	w.ObjectStart()
	str("name", eventName(rec))
	str("namespace", ns)
	w.Key("labels")
	w.ObjectStart()
	str("app.kubernetes.io/managed-by", "fence_gfs2_recorder")
	w.ObjectEnd()
	w.Key("annotations")
	w.ObjectStart()
	str(AnnotationPrefix+"event-id", rec.EventID)
	str(AnnotationPrefix+"action", rec.Action)
	str(AnnotationPrefix+"target-node", rec.TargetNode)
	str(AnnotationPrefix+"rabbit", rec.RecorderNode)
	str(AnnotationPrefix+"gfs2-filesystems", string(fsJSON.Bytes()))
	if rec.DiscoveryState != "" {
		str(AnnotationPrefix+"discovery-state", rec.DiscoveryState)
	}
	if rec.Strategy != "" {
		str(AnnotationPrefix+"strategy", rec.Strategy)
	}
	w.ObjectEnd()
	w.ObjectEnd()
	w.Key("involvedObject")
	w.ObjectStart()
	str("apiVersion", storageAPIVersion)
	str("kind", storageKind)
	str("namespace", ns)
	str("name", rec.RecorderNode)
	if uid != "" {
		str("uid", uid)
	}
	w.ObjectEnd()
	str("reason", reason(rec))
	str("type", "Warning")
	str("action", rec.Action)
	str("message", message(rec))
	w.Key("source")
	w.ObjectStart()
	str("component", "fence_gfs2_recorder")
	str("host", rec.RecorderNode)
	w.ObjectEnd()
	str("reportingComponent", "fence_gfs2_recorder")
	str("reportingInstance", rec.RecorderNode)
	str("firstTimestamp", at)
	str("lastTimestamp", at)
	w.Key("count")
	w.Int(1)
	w.ObjectEnd()
	if err := w.Err(); err != nil {
		return nil, errors.New("k8s-event: encoding the Event: " + err.Error())
	}
	return w.Bytes(), nil
}

func quote(s string) string { return "\"" + s + "\"" }
