package fakekube_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
)

const kubectlPath = "/usr/bin/kubectl"

func start(t *testing.T, opts fakekube.Options) *fakekube.Server {
	t.Helper()
	s, err := fakekube.Start(opts)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// client is an HTTPS client that trusts the server and sends its token.
func get(t *testing.T, s *fakekube.Server, path string, token string) (int, []byte) {
	t.Helper()
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(s.CACertPEM()))
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, err := http.NewRequest(http.MethodGet, s.URL()+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

type list struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Items      []struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	} `json:"items"`
}

func names(l list) []string {
	var out []string
	for _, it := range l.Items {
		out = append(out, it.Metadata.Namespace+"/"+it.Metadata.Name)
	}
	return out
}

func decode(t *testing.T, b []byte) list {
	t.Helper()
	var l list
	require.NoError(t, json.Unmarshal(b, &l), "body: %s", b)
	return l
}

func TestListFiltersByExactNamespaceAndWrapsInKindList(t *testing.T) {
	s := start(t, fakekube.Options{})
	code, body := get(t, s, "/apis/dataworkflowservices.github.io/v1alpha7/namespaces/compute-node-3/clientmounts?limit=500", s.Token())
	require.Equal(t, http.StatusOK, code)
	l := decode(t, body)
	assert.Equal(t, "dataworkflowservices.github.io/v1alpha7", l.APIVersion)
	assert.Equal(t, "ClientMountList", l.Kind)
	assert.Equal(t, []string{"compute-node-3/default-fluxjob-102-0-computes", "compute-node-3/default-fluxjob-102-1-computes"}, names(l))
	for _, it := range l.Items {
		assert.Equal(t, "ClientMount", it.Kind)
		assert.Equal(t, "dataworkflowservices.github.io/v1alpha7", it.APIVersion)
	}

	// The server's answer equals what kubectl printed for the same namespace.
	want := decode(t, readFixture(t, "clientmounts/compute-node-3.json"))
	assert.Equal(t, names(want), names(l))

	code, body = get(t, s, "/apis/dataworkflowservices.github.io/v1alpha7/namespaces/no-such-node/clientmounts", s.Token())
	require.Equal(t, http.StatusOK, code)
	assert.Empty(t, decode(t, body).Items, "an unknown namespace lists nothing, like a real server")
}

func TestClusterWideListAndLabelSelector(t *testing.T) {
	s := start(t, fakekube.Options{})
	code, body := get(t, s, "/apis/nnf.cray.hpe.com/v1alpha11/nnfstorages", s.Token())
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, []string{"default/fluxjob-101-0", "default/fluxjob-102-0", "default/fluxjob-103-0",
		"default/fluxjob-104-0", "default/projgfs"}, names(decode(t, body)))

	sel := "/apis/nnf.cray.hpe.com/v1alpha11/namespaces/rabbit-node-1/nnfnodeblockstorages?labelSelector=nnf.cray.hpe.com%2Fallocationset%3Dgfs2&limit=500"
	code, body = get(t, s, sel, s.Token())
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, names(decode(t, readFixture(t, "nnfnodeblockstorages-gfs2/rabbit-node-1.json"))), names(decode(t, body)))

	for q, want := range map[string][]string{
		"nnf.cray.hpe.com%2Ftarget_owner_uid%3D4d15be36-2361-43b8-af16-f6ed556abbeb":                                               {"compute-node-3/default-fluxjob-102-1-computes", "compute-node-4/default-fluxjob-102-1-computes", "compute-node-5/default-fluxjob-102-1-computes", "rabbit-node-1/default-fluxjob-102-1-servers", "rabbit-node-2/default-fluxjob-102-1-servers"},
		"dataworkflowservices.github.io%2Fworkflow.name+in+(fluxjob-101),dataworkflowservices.github.io%2Fowner.kind!%3DNnfAccess": nil,
		"!nnf.cray.hpe.com%2Ftarget_owner_uid": nil,
		"dataworkflowservices.github.io%2Fworkflow.name+notin+(fluxjob-102,fluxjob-103,fluxjob-104),nnf.cray.hpe.com%2Fjob_id": {"compute-node-1/default-fluxjob-101-0-computes", "compute-node-2/default-fluxjob-101-0-computes", "rabbit-node-1/default-fluxjob-101-0-servers"},
	} {
		code, body := get(t, s, "/apis/dataworkflowservices.github.io/v1alpha7/clientmounts?labelSelector="+q, s.Token())
		require.Equal(t, http.StatusOK, code, q)
		assert.Equal(t, want, names(decode(t, body)), q)
	}

	code, body = get(t, s, "/apis/dataworkflowservices.github.io/v1alpha7/clientmounts?labelSelector=a+%3E+(b", s.Token())
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, string(body), "unable to parse requirement")
}

func TestGetOneObjectAndNotFound(t *testing.T) {
	s := start(t, fakekube.Options{})
	code, body := get(t, s, "/apis/nnf.cray.hpe.com/v1alpha11/namespaces/default/nnfstorages/projgfs", s.Token())
	require.Equal(t, http.StatusOK, code)
	var o map[string]any
	require.NoError(t, json.Unmarshal(body, &o))
	assert.Equal(t, "NnfStorage", o["kind"])

	code, body = get(t, s, "/apis/nnf.cray.hpe.com/v1alpha11/namespaces/other/nnfstorages/projgfs", s.Token())
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, string(body), `"reason":"NotFound"`)

	code, _ = get(t, s, "/apis/nnf.cray.hpe.com/v1alpha11/namespaces/default/nosuchthings", s.Token())
	assert.Equal(t, http.StatusNotFound, code)
}

func TestTokenIsRequired(t *testing.T) {
	s := start(t, fakekube.Options{})
	code, _ := get(t, s, "/apis", "")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = get(t, s, "/apis", "wrong")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = get(t, s, "/apis", s.Token())
	assert.Equal(t, http.StatusOK, code)
}

func TestBadFixtureIsAnError(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"kind":"List","items":[{"kind":"X"}]}`), 0o600))
	_, err := fakekube.Start(fakekube.Options{Fixtures: []string{bad}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.json")
	assert.Contains(t, err.Error(), "needs apiVersion, kind and metadata.name")

	_, err = fakekube.Start(fakekube.Options{DiscoveryDir: dir})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "apis.json")
}

func TestAddListAndDelete(t *testing.T) {
	s := start(t, fakekube.Options{NoFixtures: true})
	cm := readFixture(t, "clientmounts/compute-node-2.json")
	require.NoError(t, s.AddList(cm))
	code, body := get(t, s, "/apis/dataworkflowservices.github.io/v1alpha7/clientmounts", s.Token())
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, []string{"compute-node-2/default-fluxjob-101-0-computes"}, names(decode(t, body)))
	assert.True(t, s.Delete("dataworkflowservices.github.io", "ClientMount", "compute-node-2", "default-fluxjob-101-0-computes"))
	_, body = get(t, s, "/apis/dataworkflowservices.github.io/v1alpha7/clientmounts", s.Token())
	assert.Empty(t, decode(t, body).Items)
	assert.Error(t, s.AddList([]byte("not json")))
}

// --- the real kubectl against the server ---

type kubectlRun struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

func requireKubectl(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(kubectlPath); err != nil {
		t.Skipf("SKIPPED: %s not installed (%v); the real-kubectl tests need it", kubectlPath, err)
	}
}

// kubectl runs the real binary with a kubeconfig for s and a fresh discovery
// cache, so every test sees kubectl's cold path.
func kubectl(t *testing.T, s *fakekube.Server, args ...string) kubectlRun {
	t.Helper()
	return kubectlIn(t, s, "", args...)
}

// kubectlIn is kubectl with stdin ("": none).
func kubectlIn(t *testing.T, s *fakekube.Server, stdin string, args ...string) kubectlRun {
	t.Helper()
	requireKubectl(t)
	dir := t.TempDir()
	kc, err := s.WriteKubeconfig(dir)
	require.NoError(t, err)
	full := append([]string{"--kubeconfig", kc, "--cache-dir", filepath.Join(dir, "cache")}, args...)
	cmd := exec.Command(kubectlPath, full...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	begin := time.Now()
	err = cmd.Run()
	r := kubectlRun{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(begin)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return r
}

func TestRealKubectlListsWhatTheFixtureShows(t *testing.T) {
	s := start(t, fakekube.Options{})
	for _, node := range []string{"compute-node-1", "compute-node-3", "compute-node-8"} {
		r := kubectl(t, s, "get", "clientmounts.dataworkflowservices.github.io", "-n", node, "-o", "json")
		require.Equal(t, 0, r.code, r.stderr)
		// kubectl re-prints the list in its own form; it must equal the
		// captured fixture byte for byte (modulo the trailing newline).
		assert.JSONEq(t, string(readFixture(t, "clientmounts/"+node+".json")), r.stdout, node)
	}
	var lists []fakekube.Request
	for _, r := range s.ResourceRequests() {
		lists = append(lists, r)
		assert.Equal(t, "clientmounts", r.Resource)
		assert.Equal(t, http.StatusOK, r.Status)
	}
	assert.Len(t, lists, 3, "one list call per kubectl get")

	s.ResetRequests()
	r := kubectl(t, s, "get", "nnfnodeblockstorages.nnf.cray.hpe.com", "-n", "rabbit-node-2", "-l", "nnf.cray.hpe.com/allocationset=gfs2", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.JSONEq(t, string(readFixture(t, "nnfnodeblockstorages-gfs2/rabbit-node-2.json")), r.stdout)
	reqs := s.ResourceRequests()
	require.Len(t, reqs, 1)
	assert.Contains(t, reqs[0].Query, "labelSelector=nnf.cray.hpe.com%2Fallocationset%3Dgfs2")
}

func TestRealKubectlPinnedVersionAndGetByName(t *testing.T) {
	s := start(t, fakekube.Options{})
	r := kubectl(t, s, "get", "nnfnodestorages.v1alpha11.nnf.cray.hpe.com", "-n", "rabbit-node-1",
		"default-fluxjob-102-0-gfs2-0", "default-projgfs-gfs2-0", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	l := decode(t, []byte(r.stdout))
	assert.Equal(t, []string{"rabbit-node-1/default-fluxjob-102-0-gfs2-0", "rabbit-node-1/default-projgfs-gfs2-0"}, names(l))
	var paths []string
	for _, q := range s.ResourceRequests() {
		paths = append(paths, q.Path)
	}
	assert.Equal(t, []string{
		"/apis/nnf.cray.hpe.com/v1alpha11/namespaces/rabbit-node-1/nnfnodestorages/default-fluxjob-102-0-gfs2-0",
		"/apis/nnf.cray.hpe.com/v1alpha11/namespaces/rabbit-node-1/nnfnodestorages/default-projgfs-gfs2-0",
	}, paths)
}

func TestRealKubectlForbiddenPrintsEmptyListAndFails(t *testing.T) {
	s := start(t, fakekube.Options{})
	s.Inject(fakekube.Fault{Resource: "clientmounts", Status: http.StatusForbidden})
	r := kubectl(t, s, "get", "clientmounts.dataworkflowservices.github.io", "-n", "compute-node-3", "-o", "json")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "Error from server (Forbidden)")
	assert.Contains(t, r.stderr, `cannot list resource "clientmounts"`)
	l := decode(t, []byte(r.stdout))
	assert.Equal(t, "List", l.Kind, "kubectl still prints a List on 403")
	assert.Empty(t, l.Items)

	// Other resources are unaffected.
	r = kubectl(t, s, "get", "nnfstorages.nnf.cray.hpe.com", "-A", "-o", "json")
	assert.Equal(t, 0, r.code, r.stderr)
	s.ClearFaults()
	r = kubectl(t, s, "get", "clientmounts.dataworkflowservices.github.io", "-n", "compute-node-3", "-o", "json")
	assert.Equal(t, 0, r.code, r.stderr)
}

func TestRealKubectlServerErrors(t *testing.T) {
	cases := []struct {
		name   string
		fault  fakekube.Fault
		stderr string
	}{
		{"500", fakekube.Fault{Status: http.StatusInternalServerError}, "Error from server (InternalError)"},
		{"garbage", fakekube.Fault{Garbage: true}, "invalid character '<'"},
		{"truncated", fakekube.Fault{TruncateAt: 200}, "unexpected end of JSON input"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, fakekube.Options{})
			s.Inject(tc.fault)
			r := kubectl(t, s, "get", "clientmounts.dataworkflowservices.github.io", "-n", "compute-node-3", "-o", "json")
			assert.NotEqual(t, 0, r.code)
			assert.Contains(t, r.stderr, tc.stderr)
			t.Logf("kubectl exit %d, stderr: %s", r.code, strings.TrimSpace(r.stderr))
		})
	}
}

func TestRealKubectlHangIsCutByRequestTimeout(t *testing.T) {
	s := start(t, fakekube.Options{})
	s.Inject(fakekube.Fault{Hang: true})
	r := kubectl(t, s, "--request-timeout", "1s", "get", "clientmounts.dataworkflowservices.github.io", "-n", "compute-node-3", "-o", "json")
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, "Unable to connect to the server: ") // "context deadline exceeded" or "Client.Timeout exceeded"
}

func TestRealKubectlUnknownServedVersion(t *testing.T) {
	s := start(t, fakekube.Options{ServeVersions: map[string]string{"dataworkflowservices.github.io": "v1alpha99"}})
	// Unpinned: kubectl follows the server's preferred version.
	r := kubectl(t, s, "get", "clientmounts.dataworkflowservices.github.io", "-n", "compute-node-3", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	l := decode(t, []byte(r.stdout))
	require.Len(t, l.Items, 2)
	assert.Equal(t, "dataworkflowservices.github.io/v1alpha99", l.Items[0].APIVersion)
	reqs := s.ResourceRequests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/apis/dataworkflowservices.github.io/v1alpha99/namespaces/compute-node-3/clientmounts", reqs[0].Path)

	// Pinned to a version the server no longer serves.
	r = kubectl(t, s, "get", "clientmounts.v1alpha7.dataworkflowservices.github.io", "-n", "compute-node-3", "-o", "json")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "the server doesn't have a resource type")
}

func TestRealKubectlGroupNotServed(t *testing.T) {
	s := start(t, fakekube.Options{OmitGroups: []string{"dataworkflowservices.github.io"}})
	r := kubectl(t, s, "get", "clientmounts.dataworkflowservices.github.io", "-n", "compute-node-3", "-o", "json")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "the server doesn't have a resource type")
	assert.Empty(t, s.ResourceRequests(), "kubectl gives up after discovery")
}

func TestRealKubectlConnectionRefused(t *testing.T) {
	s := start(t, fakekube.Options{})
	requireKubectl(t)
	dir := t.TempDir()
	kc, err := s.WriteKubeconfig(dir)
	require.NoError(t, err)
	s.Close()
	cmd := exec.Command(kubectlPath, "--kubeconfig", kc, "--cache-dir", filepath.Join(dir, "cache"),
		"get", "clientmounts.dataworkflowservices.github.io", "-n", "compute-node-3", "-o", "json")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, ee.ExitCode())
	assert.Empty(t, out.String())
	assert.Contains(t, errb.String(), "refused")
}

func TestRealKubectlPlainHTTP(t *testing.T) {
	s := start(t, fakekube.Options{PlainHTTP: true})
	assert.True(t, strings.HasPrefix(s.URL(), "http://127.0.0.1:"))
	assert.Nil(t, s.CACertPEM())
	r := kubectl(t, s, "get", "nnfstorages.nnf.cray.hpe.com", "-A", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Len(t, decode(t, []byte(r.stdout)).Items, 5)
}

func TestRequestLogClassifiesDiscovery(t *testing.T) {
	s := start(t, fakekube.Options{})
	r := kubectl(t, s, "get", "nnfstorages.nnf.cray.hpe.com", "-A", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var discovery []string
	for _, q := range s.Requests() {
		if !q.IsResource() {
			discovery = append(discovery, q.Path)
		}
	}
	sort.Strings(discovery)
	// A cold cache walks every advertised group version.
	assert.Subset(t, discovery, []string{"/apis", "/apis/nnf.cray.hpe.com/v1alpha11", "/apis/dataworkflowservices.github.io/v1alpha7"})
	res := s.ResourceRequests()
	require.Len(t, res, 1)
	assert.Equal(t, "nnfstorages", res[0].Resource)
	assert.Equal(t, "", res[0].Namespace)
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fakekube.RepoTestdata(), "fixtures", name))
	require.NoError(t, err)
	return b
}

func TestDelayAnswersLate(t *testing.T) {
	s := start(t, fakekube.Options{})
	s.Inject(fakekube.Fault{Resource: "nnfstorages", Delay: 300 * time.Millisecond})
	begin := time.Now()
	code, body := get(t, s, "/apis/nnf.cray.hpe.com/v1alpha11/nnfstorages", s.Token())
	require.Equal(t, http.StatusOK, code)
	assert.Len(t, decode(t, body).Items, 5)
	assert.GreaterOrEqual(t, time.Since(begin), 300*time.Millisecond)

	s.Inject(fakekube.Fault{Resource: "nnfstorages", Delay: 10 * time.Millisecond, Status: http.StatusServiceUnavailable})
	code, body = get(t, s, "/apis/nnf.cray.hpe.com/v1alpha11/nnfstorages", s.Token())
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, string(body), `"reason":"ServiceUnavailable"`)
}

// A hanging request must not keep Close from returning.
func TestCloseReleasesHangingRequests(t *testing.T) {
	s, err := fakekube.Start(fakekube.Options{})
	require.NoError(t, err)
	s.Inject(fakekube.Fault{Hang: true})
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(s.CACertPEM()))
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/apis/nnf.cray.hpe.com/v1alpha11/nnfstorages", nil)
		req.Header.Set("Authorization", "Bearer "+s.Token())
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond) // let the request reach the hanging handler
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked on a hanging request")
	}
	assert.Error(t, <-errc, "the client sees the connection go away")
	s.Close() // idempotent
}
