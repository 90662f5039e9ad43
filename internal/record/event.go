// Package record writes the recorder's audit trail: one JSON object per fence
// event in fence-events-detailed.jsonl, one escaped line per event in
// fence-events-readable.log, and the operational log fence-events.log.
//
// Every record is one write(2) per file under an advisory lock and is fsynced
// before the agent reports success, so concurrent agents never tear or
// interleave records and a crash right after exit 0 loses nothing. When the
// log directory cannot be written, the record still goes somewhere durable
// and visible: stderr (which Pacemaker logs) and syslog.
package record

import (
	"slices"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/uuid"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/discovery"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/storagefence"
)

// File names inside the log directory.
const (
	DetailedFile    = "fence-events-detailed.jsonl"
	ReadableFile    = "fence-events-readable.log"
	OperationalFile = "fence-events.log"
)

// StatusInitiated is the status of a recorded fence action: the recorder runs
// beside the real device, so it can only say the action was started.
const StatusInitiated = "initiated"

// Event is one line of fence-events-detailed.jsonl. The first eight fields
// are the reference agent's format and must keep their names: operators'
// jq queries depend on them.
type Event struct {
	Timestamp       string   `json:"timestamp"` // RFC 3339, UTC, microseconds
	Action          string   `json:"action"`
	TargetNode      string   `json:"target_node"` // literally as received (JSON-escaped)
	GFS2Filesystems []string `json:"gfs2_filesystems"`
	Status          string   `json:"status"`
	Details         string   `json:"details"`
	RecorderNode    string   `json:"recorder_node"`
	PacemakerAction string   `json:"pacemaker_action"` // the action as received

	EventID      string `json:"event_id"` // UUIDv7: unique and time-ordered
	AgentVersion string `json:"agent_version"`
	// TargetNodeEscaped is the byte-exact, ASCII-escaped target name when it
	// is not a plausible node name (JSON cannot carry invalid UTF-8 literally).
	TargetNodeEscaped string `json:"target_node_escaped,omitempty"`
	// TargetNodeProblem says why discovery was not run for this target.
	TargetNodeProblem string `json:"target_node_problem,omitempty"`
	// ConfigError is set when the configuration could not be loaded; the
	// event was then recorded with built-in defaults.
	ConfigError string `json:"config_error,omitempty"`
	// InputWarnings are stdin lines the agent ignored.
	InputWarnings []string `json:"input_warnings,omitempty"`
	// ConfigWarnings are configuration values ignored in favour of their
	// defaults (a bad FENCE_TIMEOUT in fenced's environment, for example).
	ConfigWarnings []string `json:"config_warnings,omitempty"`
	// NodeName is Pacemaker's name for the target when it differs from
	// TargetNode (a storage fence targets the configured port, the NNF name).
	NodeName string `json:"nodename,omitempty"`
	// StorageFence is the exchange with nnf-sos in storage-fence mode.
	StorageFence *storagefence.Record `json:"storage_fence,omitempty"`

	Discovery discovery.Report `json:"discovery"`

	at time.Time
}

// NewEvent starts an event at time now with a fresh event id.
func NewEvent(now time.Time, action string) *Event {
	now = now.UTC()
	return &Event{
		Timestamp:       now.Format(TimestampFormat),
		Action:          action,
		PacemakerAction: action,
		Status:          StatusInitiated,
		Details:         "Fence action " + action + " initiated by Pacemaker",
		EventID:         NewEventID(now),
		GFS2Filesystems: []string{},
		Discovery:       discovery.Report{Attempts: []discovery.Attempt{}},
		at:              now,
	}
}

// SetTarget records the fence target: its name literally, and for a name
// discovery may not see, the reason and the name byte-exact escaped.
func (e *Event) SetTarget(t discovery.Target) {
	e.TargetNode = t.Node
	e.TargetNodeProblem = t.Problem()
	e.TargetNodeEscaped = ""
	if e.TargetNodeProblem != "" {
		e.TargetNodeEscaped = EscapeToken(t.Node)
	}
}

// Target is the event's target as the chain takes it (an event read back
// from a pipe is checked again).
func (e *Event) Target() discovery.Target { return discovery.NewTarget(e.TargetNode, e.Action) }

// SetDiscovery records a discovery report and the filesystems it names.
func (e *Event) SetDiscovery(rep discovery.Report) {
	e.Discovery = rep
	e.GFS2Filesystems = slices.Clone(rep.Filesystems)
}

// TimestampFormat is RFC 3339 in UTC with microseconds.
const TimestampFormat = "2006-01-02T15:04:05.000000Z07:00"

// NewEventID returns a UUIDv7 (package uuid): ids sort by time across
// processes and never collide in practice.
func NewEventID(now time.Time) string { return uuid.V7(now) }

// time is the event time; events read back from JSON (a deferred second
// record) carry it only in Timestamp.
func (e *Event) time() time.Time {
	if !e.at.IsZero() {
		return e.at
	}
	t, err := time.Parse(time.RFC3339Nano, e.Timestamp)
	if err != nil {
		return time.Now().UTC()
	}
	return t.UTC()
}
