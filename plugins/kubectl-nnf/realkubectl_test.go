package kubectlnnf

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/kubetest"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// trickyOptions serves the public fixtures plus testdata/nnf/tricky.
func trickyOptions(t testing.TB) fakekube.Options {
	dir := filepath.Join(testdataDir(t), "tricky")
	return fakekube.Options{Fixtures: append(fakekube.DefaultFixtures(),
		filepath.Join(dir, "clientmounts.json"), filepath.Join(dir, "nnfstorages.json"))}
}

// freshCache gives each discovery kubectl's cold path, as a first fence would.
func freshCache(t *testing.T, cfg map[string]any) map[string]any {
	out := map[string]any{"cache_dir": filepath.Join(t.TempDir(), "kube-cache")}
	for k, v := range cfg {
		out[k] = v
	}
	return out
}

// listCalls counts the list/get requests the server saw, by resource.
func listCalls(s *fakekube.Server) map[string]int {
	m := map[string]int{}
	for _, r := range s.ResourceRequests() {
		m[r.Resource]++
	}
	return m
}

// eachFixtureNode runs Discover through the real kubectl, from a cold cache
// with cfg, for every compute of fixtures/expected.json, checks the answer
// against it (with the lock tables when withLockTable), then hands check the
// answer and the server, whose requests are those of that discovery only.
func eachFixtureNode(t *testing.T, cfg map[string]any, withLockTable bool, check func(t *testing.T, e expected, node string, res plugin.Result, s *fakekube.Server)) {
	e := loadExpected(t, "fixtures/expected.json")
	s := kubetest.Start(t, fakekube.Options{})
	for _, node := range nodes(e.Computes) {
		t.Run(node, func(t *testing.T) {
			ctx := kubetest.NewContext(t, s)
			s.ResetRequests()
			res, err := Discover(ctx, request(node, freshCache(t, cfg)))
			require.NoError(t, err)
			assertMatches(t, e, node, res, withLockTable)
			check(t, e, node, res, s)
		})
	}
}

func TestRealKubectlFixtures(t *testing.T) {
	eachFixtureNode(t, nil, false, func(t *testing.T, _ expected, node string, res plugin.Result, s *fakekube.Server) {
		assert.Equal(t, 1, res.Details["kubectl_calls"])
		assert.Equal(t, map[string]int{"clientmounts": 1}, listCalls(s), "one list call per discovery")
		reqs := s.ResourceRequests()
		require.Len(t, reqs, 1)
		assert.Equal(t, "/apis/dataworkflowservices.github.io/v1alpha7/namespaces/"+node+"/clientmounts", reqs[0].Path)
	})
}

func TestRealKubectlFixturesVerifiedWithLockTables(t *testing.T) {
	cfg := map[string]any{"verify_nnfstorage": true, "lock_table": true}
	eachFixtureNode(t, cfg, true, func(t *testing.T, e expected, node string, res plugin.Result, s *fakekube.Server) {
		calls := listCalls(s)
		if len(e.Computes[node]) == 0 {
			assert.Equal(t, map[string]int{"clientmounts": 1}, calls)
			return
		}
		assert.Equal(t, 1, calls["clientmounts"])
		assert.Equal(t, 1, calls["nnfstorages"])
		// One kubectl per rabbit; kubectl gets each named object.
		assert.Equal(t, len(e.Details[node]), calls["nnfnodestorages"])
		assert.Equal(t, 3, res.Details["kubectl_calls"])
		assert.Equal(t, byUID, res.Details["identified_by"])
	})
}

func TestRealKubectlTricky(t *testing.T) {
	e := loadExpected(t, "tricky/expected.json")
	s := kubetest.Start(t, trickyOptions(t))
	all := append(nodes(e.Computes), nodes(e.Errors)...)
	sort.Strings(all)
	for _, node := range all {
		t.Run(node, func(t *testing.T) {
			ctx := kubetest.NewContext(t, s)
			s.ResetRequests()
			res, err := Discover(ctx, request(node, freshCache(t, nil)))
			if want, ok := e.Errors[node]; ok {
				require.Error(t, err)
				assert.Contains(t, err.Error(), want)
				assert.Empty(t, res.Filesystems)
			} else {
				require.NoError(t, err)
				assertMatches(t, e, node, res, false)
			}
			assert.Equal(t, e.KubectlCalls[node], res.Details["kubectl_calls"], "kubectl processes")
			assert.Equal(t, e.KubectlCalls[node], len(s.ResourceRequests()), "list calls")
			if want, ok := e.IdentifiedBy[node]; ok {
				assert.Equal(t, want, res.Details["identified_by"])
			}
		})
	}
}

func TestRealKubectlServerFaults(t *testing.T) {
	cases := []struct {
		name  string
		fault fakekube.Fault
		cfg   map[string]any
		want  string
	}{
		{"403 with an empty List", fakekube.Fault{Resource: "clientmounts", Status: http.StatusForbidden}, nil,
			`(exit status 1): Error from server (Forbidden): clientmounts.dataworkflowservices.github.io is forbidden`},
		{"500", fakekube.Fault{Status: http.StatusInternalServerError}, nil,
			"(exit status 1): Error from server (InternalError): Internal error occurred: injected failure"},
		{"garbage body", fakekube.Fault{Garbage: true}, nil, "(exit status 1): error: invalid character '<' looking for beginning of value"},
		{"truncated body", fakekube.Fault{TruncateAt: 300}, nil, "(exit status 1): error: unexpected end of JSON input"},
		{"hang cut by request_timeout", fakekube.Fault{Hang: true}, map[string]any{"request_timeout": "1s"},
			// kubectl words it "context deadline exceeded" or "Client.Timeout
			// exceeded", depending on where its deadline fires.
			"(exit status 1): Unable to connect to the server: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := kubetest.Start(t, fakekube.Options{})
			s.Inject(tc.fault)
			ctx := kubetest.NewContext(t, s)
			res, err := Discover(ctx, request("compute-node-3", freshCache(t, tc.cfg)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "kubectl failed while listing ClientMounts in namespace compute-node-3")
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, res.Filesystems)
		})
	}
}

func TestRealKubectlHangKilledAtDeadline(t *testing.T) {
	s := kubetest.Start(t, fakekube.Options{})
	s.Inject(fakekube.Fault{Hang: true})
	ctx := kubetest.NewContext(t, s)
	ctx.Timeout = 1500 * time.Millisecond
	_, err := Discover(ctx, request("compute-node-3", freshCache(t, nil)))
	require.Error(t, err)
	// Only the deadline kill produces this text; no wall-clock assertion.
	assert.Equal(t, "kubectl timed out while listing ClientMounts in namespace compute-node-3", err.Error())
}

func TestRealKubectlNnfStoragesForbiddenWhenNeeded(t *testing.T) {
	s := kubetest.Start(t, trickyOptions(t))
	s.Inject(fakekube.Fault{Resource: "nnfstorages", Status: http.StatusForbidden})
	ctx := kubetest.NewContext(t, s)
	_, err := Discover(ctx, request("compute-node-31", freshCache(t, nil)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ClientMount labels do not name every NnfStorage and the NnfStorages could not be read")
	assert.Contains(t, err.Error(), "Forbidden")

	// Labels complete: verification is lost, the answer is not.
	res, err := Discover(ctx, request("compute-node-30", freshCache(t, map[string]any{"verify_nnfstorage": true})))
	require.NoError(t, err)
	assert.Equal(t, []string{"ns2/projgfs"}, res.Filesystems)
	assert.Equal(t, byLabelOnly, res.Details["identified_by"])
}

func TestRealKubectlUnknownAPIVersion(t *testing.T) {
	s := kubetest.Start(t, fakekube.Options{ServeVersions: map[string]string{"dataworkflowservices.github.io": "v1alpha99"}})
	ctx := kubetest.NewContext(t, s)
	// Default pin v1alpha7 is gone: one retry with the server's preferred
	// version; the answer stands, the unknown version and the fallback are
	// flagged.
	res, err := Discover(ctx, request("compute-node-3", freshCache(t, nil)))
	require.NoError(t, err)
	assert.Equal(t, []string{"default/fluxjob-102-0", "default/projgfs"}, res.Filesystems)
	assert.Equal(t, []string{"dataworkflowservices.github.io/v1alpha99"}, res.Details["unknown_api_versions"])
	assert.Equal(t, 2, res.Details["kubectl_calls"])
	assert.Len(t, res.Details["version_fallbacks"], 1)
	assert.NotEmpty(t, ctx.Logs())

	// Pinned by the site to a version the server no longer serves.
	res, err = Discover(ctx, request("compute-node-3", freshCache(t, map[string]any{"clientmount_version": "v1alpha7"})))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `the server doesn't have a resource type "clientmounts"`)
	assert.Contains(t, err.Error(), "are the DWS/NNF CRDs installed?")
	assert.Equal(t, 1, res.Details["kubectl_calls"])
}

func TestRealKubectlCRDsNotInstalled(t *testing.T) {
	s := kubetest.Start(t, fakekube.Options{OmitGroups: []string{"dataworkflowservices.github.io"}})
	ctx := kubetest.NewContext(t, s)
	_, err := Discover(ctx, request("compute-node-3", freshCache(t, nil)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "doesn't have a resource type")
	assert.Empty(t, s.ResourceRequests())
}

// The pinned resource name lets kubectl answer from its discovery cache: a
// second discovery with the same cache_dir makes exactly one request. (The
// group-qualified name without a version makes kubectl invalidate its cache
// and redo discovery on every call.)
func TestRealKubectlWarmCacheMakesOneRequest(t *testing.T) {
	s := kubetest.Start(t, fakekube.Options{})
	ctx := kubetest.NewContext(t, s)
	cfg := freshCache(t, nil)
	_, err := Discover(ctx, request("compute-node-3", cfg))
	require.NoError(t, err)
	s.ResetRequests()
	_, err = Discover(ctx, request("compute-node-3", cfg))
	require.NoError(t, err)
	assert.Len(t, s.Requests(), 1, "no discovery requests with a warm cache")

	cfg = freshCache(t, map[string]any{"clientmount_version": ""})
	_, err = Discover(ctx, request("compute-node-3", cfg))
	require.NoError(t, err)
	s.ResetRequests()
	_, err = Discover(ctx, request("compute-node-3", cfg))
	require.NoError(t, err)
	assert.Greater(t, len(s.Requests()), 1, "documents kubectl's behaviour with clientmounts.<group>: if this fails, kubectl fixed it")
}

func TestRealKubectlConnectionRefused(t *testing.T) {
	s := kubetest.Start(t, fakekube.Options{})
	ctx := kubetest.NewContext(t, s)
	s.Close()
	_, err := Discover(ctx, request("compute-node-3", freshCache(t, nil)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "(exit status 1): ")
	assert.Contains(t, err.Error(), "refused")
}

func TestRealKubectlMissingBinary(t *testing.T) {
	s := kubetest.Start(t, fakekube.Options{})
	ctx := &missingKubectl{kubetest.NewContext(t, s)}
	_, err := Discover(ctx, request("compute-node-3", nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kubectl could not be run")
	assert.Contains(t, err.Error(), "no such file or directory")
}

// missingKubectl runs a kubectl path that does not exist, as when the
// package is not installed on a rabbit.
type missingKubectl struct{ *kubetest.Context }

func (m *missingKubectl) Exec(name string, args ...string) (*plugin.ExecResult, error) {
	cmd := exec.Command("/nonexistent/kubectl", args...)
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	return &plugin.ExecResult{}, nil
}
