package fakekube_test

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
)

const testEvent = `{"apiVersion":"v1","kind":"Event",
 "metadata":{"name":"fence-0001","namespace":"default"},
 "involvedObject":{"apiVersion":"dataworkflowservices.github.io/v1alpha7","kind":"Storage",
   "namespace":"default","name":"rabbit-node-1","uid":"7f3f5044-7898-4da8-a4e0-519018e4737d"},
 "reason":"ComputeFenced","type":"Warning","message":"reboot of compute-node-3",
 "firstTimestamp":"2026-11-25T06:30:00Z","lastTimestamp":"2026-11-25T06:30:00Z","count":1,
 "source":{"component":"fence_gfs2_recorder","host":"rabbit-node-1"}}`

// The real kubectl creates an Event, is told AlreadyExists the second
// time, finds it by reason across namespaces, and `kubectl describe` of
// the involved Storage shows it (describe matches kind, name, namespace
// and uid).
func TestRealKubectlCreatesAndFindsEvents(t *testing.T) {
	s := start(t, fakekube.Options{})
	r := kubectlIn(t, s, testEvent, "create", "--validate=false", "-f", "-", "-o", "name")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "event/fence-0001\n", r.stdout)

	r = kubectlIn(t, s, testEvent, "create", "--validate=false", "-f", "-", "-o", "name")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "AlreadyExists")
	require.Len(t, s.Events(), 1)

	var kept map[string]any
	require.NoError(t, json.Unmarshal(s.Events()[0], &kept))
	assert.Equal(t, "ComputeFenced", kept["reason"])
	assert.NotEmpty(t, kept["metadata"].(map[string]any)["uid"])

	r = kubectl(t, s, "get", "events", "-A", "--field-selector", "reason=ComputeFenced", "-o", "name")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "event/fence-0001\n", r.stdout)
	r = kubectl(t, s, "get", "events", "-A", "--field-selector", "reason=SomethingElse", "-o", "name")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout)

	r = kubectl(t, s, "describe", "storages.dataworkflowservices.github.io", "rabbit-node-1", "-n", "default")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "ComputeFenced")
	r = kubectl(t, s, "describe", "storages.dataworkflowservices.github.io", "rabbit-node-2", "-n", "default")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "ComputeFenced", "another rabbit's Storage shows none of it")
}

func TestEventFaultsAndRefusedConnections(t *testing.T) {
	s := start(t, fakekube.Options{})
	s.Inject(fakekube.Fault{Resource: "events", Status: http.StatusForbidden})
	r := kubectlIn(t, s, testEvent, "create", "--validate=false", "-f", "-")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `cannot create resource "events"`)
	assert.Empty(t, s.Events())

	url, err := fakekube.RefusingURL()
	require.NoError(t, err)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, fakekube.WriteKubeconfig(kc, url, s.Token(), s.CACertPEM()))
	cmd := exec.Command(kubectlPath, "--kubeconfig", kc, "create", "--validate=false", "-f", "-")
	cmd.Stdin = strings.NewReader(testEvent)
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "connection refused")
}
