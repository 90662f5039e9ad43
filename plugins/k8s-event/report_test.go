package k8sevent

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/kubetest"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

const fenceRecord = `{"timestamp":"2026-11-25T06:30:00.123456Z","action":"reboot","target_node":"compute-node-3",
 "gfs2_filesystems":["default/gfs2-a","default/gfs2-b"],"status":"initiated","details":"Fence action reboot initiated by Pacemaker",
 "recorder_node":"rabbit-node-1","pacemaker_action":"reboot","event_id":"01a2115c-8a40-7c3e-9f0e-5d2b7a1c4e8f",
 "agent_version":"0.1.0","discovery":{"enabled":true,"strategy":"kubectl-nnf","duration_ms":212.4,"attempts":[]}}`

// start gives a fake API server and a Context running the real kubectl
// against it, 3 s per command.
func start(t *testing.T) (*fakekube.Server, *kubetest.Context) {
	s := kubetest.Start(t, fakekube.Options{})
	ctx := kubetest.NewContext(t, s)
	ctx.Timeout = 3 * time.Second
	return s, ctx
}

// The Event the real kubectl creates, field by field, and its dedupe.
func TestReportCreatesTheEventOnce(t *testing.T) {
	s, ctx := start(t)
	rep := plugin.Report{Reporter: Name, Record: []byte(fenceRecord), Config: map[string]any{}}
	require.NoError(t, Report(ctx, rep))
	require.NoError(t, Report(ctx, rep), "a second delivery of the same record is AlreadyExists: delivered")
	evs := s.Events()
	require.Len(t, evs, 1)

	var ev struct {
		APIVersion, Kind string
		Metadata         struct {
			Name, Namespace string
			Labels          map[string]string
			Annotations     map[string]string
		}
		InvolvedObject                struct{ APIVersion, Kind, Namespace, Name, UID string }
		Reason, Type, Action, Message string
		Source                        struct{ Component, Host string }
		ReportingComponent            string
		ReportingInstance             string
		FirstTimestamp, LastTimestamp string
		Count                         int
	}
	require.NoError(t, json.Unmarshal(evs[0], &ev))
	assert.Equal(t, "v1", ev.APIVersion)
	assert.Equal(t, "Event", ev.Kind)
	assert.Equal(t, "fence-01a2115c-8a40-7c3e-9f0e-5d2b7a1c4e8f", ev.Metadata.Name)
	assert.Equal(t, "default", ev.Metadata.Namespace)
	assert.Equal(t, "fence_gfs2_recorder", ev.Metadata.Labels["app.kubernetes.io/managed-by"])
	assert.Equal(t, map[string]string{
		AnnotationPrefix + "event-id":         "01a2115c-8a40-7c3e-9f0e-5d2b7a1c4e8f",
		AnnotationPrefix + "action":           "reboot",
		AnnotationPrefix + "target-node":      "compute-node-3",
		AnnotationPrefix + "rabbit":           "rabbit-node-1",
		AnnotationPrefix + "gfs2-filesystems": `["default/gfs2-a","default/gfs2-b"]`,
		AnnotationPrefix + "strategy":         "kubectl-nnf",
	}, ev.Metadata.Annotations)
	assert.Equal(t, "dataworkflowservices.github.io/v1alpha7", ev.InvolvedObject.APIVersion)
	assert.Equal(t, "Storage", ev.InvolvedObject.Kind)
	assert.Equal(t, "default", ev.InvolvedObject.Namespace)
	assert.Equal(t, "rabbit-node-1", ev.InvolvedObject.Name)
	assert.Equal(t, "7f3f5044-7898-4da8-a4e0-519018e4737d", ev.InvolvedObject.UID, "the Storage's uid, read from the server")
	assert.Equal(t, ReasonFenced, ev.Reason)
	assert.Equal(t, "Warning", ev.Type)
	assert.Equal(t, "reboot", ev.Action)
	assert.Equal(t, "Fence action reboot of compute-node-3 recorded by rabbit-node-1; GFS2 filesystems: default/gfs2-a, default/gfs2-b; event_id 01a2115c-8a40-7c3e-9f0e-5d2b7a1c4e8f", ev.Message)
	assert.Equal(t, "fence_gfs2_recorder", ev.Source.Component)
	assert.Equal(t, "rabbit-node-1", ev.Source.Host)
	assert.Equal(t, "fence_gfs2_recorder", ev.ReportingComponent)
	assert.Equal(t, "rabbit-node-1", ev.ReportingInstance)
	assert.Equal(t, "2026-11-25T06:30:00Z", ev.FirstTimestamp)
	assert.Equal(t, "2026-11-25T06:30:00Z", ev.LastTimestamp)
	assert.Equal(t, 1, ev.Count)
}

func TestCompletionRecordIsItsOwnEvent(t *testing.T) {
	s, ctx := start(t)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(fenceRecord), &m))
	m["discovery"].(map[string]any)["state"] = "complete"
	completion, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, Report(ctx, plugin.Report{Reporter: Name, Record: []byte(fenceRecord)}))
	require.NoError(t, Report(ctx, plugin.Report{Reporter: Name, Record: completion}))
	evs := s.Events()
	require.Len(t, evs, 2)
	var ev struct {
		Metadata struct{ Name string }
		Reason   string
	}
	require.NoError(t, json.Unmarshal(evs[1], &ev))
	assert.Equal(t, "fence-01a2115c-8a40-7c3e-9f0e-5d2b7a1c4e8f-discovery", ev.Metadata.Name)
	assert.Equal(t, ReasonDiscoveryCompleted, ev.Reason)
}

func TestReportFailuresKeepTheRecord(t *testing.T) {
	s, ctx := start(t)
	rep := plugin.Report{Reporter: Name, Record: []byte(fenceRecord)}

	s.Inject(fakekube.Fault{Resource: "events", Status: http.StatusForbidden})
	err := Report(ctx, rep)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "forbidden")

	s.ClearFaults()
	s.Inject(fakekube.Fault{Resource: "storages", Status: http.StatusForbidden})
	require.Error(t, Report(ctx, rep), "an unreadable Storage is a failure, not an Event without its uid")
	assert.Empty(t, s.Events())

	s.ClearFaults()
	require.True(t, s.Delete("dataworkflowservices.github.io", "Storage", "default", "rabbit-node-1"))
	require.NoError(t, Report(ctx, rep), "a missing Storage still gets its Event")
	assert.Contains(t, string(s.Events()[0]), `"involvedObject":{"apiVersion":"dataworkflowservices.github.io/v1alpha7","kind":"Storage","name":"rabbit-node-1","namespace":"default"}`)
}

func TestBadRecordsAreRefused(t *testing.T) {
	for name, rec := range map[string]string{
		"not JSON":        `{"event_id":`,
		"no event_id":     `{"action":"off"}`,
		"uppercase id":    `{"event_id":"ABC"}`,
		"slash in the id": `{"event_id":"a/b"}`,
	} {
		_, err := parseRecord([]byte(rec))
		assert.Error(t, err, name)
	}
}
