package kubectlnnf

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin/plugintest"
)

var (
	cmArgs = func(ns string) []string {
		return []string{"get", "clientmounts.v1alpha7.dataworkflowservices.github.io", "-n", ns, "-o", "json"}
	}
	nnfArgs = []string{"get", "nnfstorages.v1alpha11.nnf.cray.hpe.com", "-A", "-o", "json"}
)

func request(node string, cfg map[string]any) plugin.Request {
	return plugin.Request{Node: node, Action: "reboot", Config: cfg}
}

// The public example system, scripted with the real kubectl output files:
// one kubectl call per discovery, every compute's names and details right.
func TestFixturesNative(t *testing.T) {
	e := loadExpected(t, "fixtures/expected.json")
	for _, node := range nodes(e.Computes) {
		t.Run(node, func(t *testing.T) {
			ctx := plugintest.NewContext(t).Allow("kubectl").
				Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/clientmounts/"+node+".json")), cmArgs(node)...)
			res, err := Discover(ctx, request(node, nil))
			require.NoError(t, err)
			assertMatches(t, e, node, res, false)
			assert.Equal(t, 1, res.Details["kubectl_calls"])
			assert.Len(t, ctx.Calls(), 1)
			if len(res.Filesystems) > 0 {
				assert.Equal(t, byLabels, res.Details["identified_by"])
			}
		})
	}
}

// The reference agent's bug: every gfs2 NnfStorage for every node. Guard the
// fix explicitly on the node whose gfs2 is cleanly unmounted.
func TestCleanlyUnmountedIsNotReported(t *testing.T) {
	ctx := plugintest.NewContext(t).Allow("kubectl").
		Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/clientmounts/compute-node-1.json")), cmArgs("compute-node-1")...)
	res, err := Discover(ctx, request("compute-node-1", nil))
	require.NoError(t, err)
	assert.Empty(t, res.Filesystems)
	assert.Equal(t, 1, res.Details["gfs2_mounts"])
	assert.Equal(t, 0, res.Details["in_use"])
	assert.Equal(t, []string{"compute-node-1/default-fluxjob-101-0-computes mount 0: unmounted and ready"}, res.Details["not_in_use"])
}

func TestVerifyModeMatchesByUID(t *testing.T) {
	e := loadExpected(t, "fixtures/expected.json")
	for _, node := range nodes(e.Computes) {
		t.Run(node, func(t *testing.T) {
			ctx := plugintest.NewContext(t).Allow("kubectl").
				Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/clientmounts/"+node+".json")), cmArgs(node)...).
				Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/nnfstorages.json")), nnfArgs...)
			res, err := Discover(ctx, request(node, map[string]any{"verify_nnfstorage": true}))
			require.NoError(t, err)
			assertMatches(t, e, node, res, false)
			if len(e.Computes[node]) == 0 {
				assert.Equal(t, 1, res.Details["kubectl_calls"], "nothing to verify, no second call")
				return
			}
			assert.Equal(t, 2, res.Details["kubectl_calls"])
			assert.Equal(t, byUID, res.Details["identified_by"])
			for _, m := range res.Details["mounts"].([]map[string]any) {
				assert.Equal(t, "gfs2", m["nnfStorageType"])
				assert.NotContains(t, m, "note")
			}
		})
	}
}

// With verify on and NnfStorages unreadable (the nnf-clientmount service
// account cannot list them), complete labels still answer, and the failure
// is recorded.
func TestVerifyFallsBackToLabelsWhenNnfStoragesForbidden(t *testing.T) {
	ctx := plugintest.NewContext(t).Allow("kubectl").
		Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/clientmounts/compute-node-3.json")), cmArgs("compute-node-3")...).
		Script("kubectl", forbidden("nnfstorages", "nnf.cray.hpe.com", ""), nnfArgs...)
	res, err := Discover(ctx, request("compute-node-3", map[string]any{"verify_nnfstorage": true}))
	require.NoError(t, err)
	assert.Equal(t, []string{"default/fluxjob-102-0", "default/projgfs"}, res.Filesystems)
	assert.Equal(t, byLabelOnly, res.Details["identified_by"])
	assert.Contains(t, res.Details["nnfstorage_error"], "Forbidden")
	assert.Equal(t, 2, res.Details["kubectl_calls"])
}

func TestLockTables(t *testing.T) {
	e := loadExpected(t, "fixtures/expected.json")
	all := readTestdata(t, "fixtures/nnfnodestorages.json")
	for _, node := range nodes(e.Computes) {
		t.Run(node, func(t *testing.T) {
			ctx := plugintest.NewContext(t).Allow("kubectl").
				Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/clientmounts/"+node+".json")), cmArgs(node)...)
			rabbits := map[string]bool{}
			for _, d := range e.Details[node] {
				r := d["rabbit"].(string)
				if rabbits[r] {
					continue
				}
				rabbits[r] = true
				var names []string
				for _, d2 := range e.Details[node] {
					if d2["rabbit"] == r {
						names = append(names, strings.TrimPrefix(d2["nnfNodeStorage"].(string), r+"/"))
					}
				}
				args := append([]string{"get", "nnfnodestorages.v1alpha11.nnf.cray.hpe.com", "-n", r}, names...)
				// The scripted output holds every rabbit's objects; the
				// strategy must pick the right ones by namespace and name.
				ctx.Script("kubectl", plugintest.Output(all), append(args, "-o", "json")...)
			}
			res, err := Discover(ctx, request(node, map[string]any{"lock_table": true}))
			require.NoError(t, err)
			assertMatches(t, e, node, res, true)
			assert.Equal(t, 1+len(rabbits), res.Details["kubectl_calls"])
			assert.NotContains(t, res.Details, "lock_table_error")
		})
	}
}

// kubectl prints a get of exactly one name as the object, not as a List.
func TestLockTableFromSingleObjectDocument(t *testing.T) {
	one := []byte(`{"apiVersion":"nnf.cray.hpe.com/v1alpha11","kind":"NnfNodeStorage","metadata":{"name":"default-fluxjob-101-0-gfs2-0","namespace":"rabbit-node-1","uid":"8d458b7e-0000-4000-8000-000000000000"},"spec":{"fileSystemType":"gfs2"}}`)
	ctx := plugintest.NewContext(t).Allow("kubectl").
		Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/clientmounts/compute-node-2.json")), cmArgs("compute-node-2")...).
		Script("kubectl", plugintest.Output(one), "get", "nnfnodestorages.v1alpha11.nnf.cray.hpe.com", "-n", "rabbit-node-1", "default-fluxjob-101-0-gfs2-0", "-o", "json")
	res, err := Discover(ctx, request("compute-node-2", map[string]any{"lock_table": true}))
	require.NoError(t, err)
	// "8d458" in hex is 3864343538; allocation index 1.
	assert.Equal(t, "rabbit-node-1:fs-01-3864343538", res.Details["mounts"].([]map[string]any)[0]["lockTable"])

	_, err = parseNnfObjects([]byte(`{"kind":"Status","metadata":{}}`), kindNnfNodeStorage)
	assert.EqualError(t, err, "kubectl printed NnfNodeStorage JSON that is neither a list nor a NnfNodeStorage")
}

func TestLockTableFailureIsNotFatal(t *testing.T) {
	ctx := plugintest.NewContext(t).Allow("kubectl").
		Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/clientmounts/compute-node-2.json")), cmArgs("compute-node-2")...).
		Script("kubectl", plugintest.Fail(1, `Error from server (NotFound): nnfnodestorages.nnf.cray.hpe.com "default-fluxjob-101-0-gfs2-0" not found`),
			"get", "nnfnodestorages.v1alpha11.nnf.cray.hpe.com", "-n", "rabbit-node-1", "default-fluxjob-101-0-gfs2-0", "-o", "json")
	res, err := Discover(ctx, request("compute-node-2", map[string]any{"lock_table": true}))
	require.NoError(t, err)
	assert.Equal(t, []string{"default/fluxjob-101-0"}, res.Filesystems)
	assert.Contains(t, res.Details["lock_table_error"], "NotFound")
	assert.NotContains(t, res.Details["mounts"].([]map[string]any)[0], "lockTable")
}

// forbidden is what kubectl does on HTTP 403: an empty List on stdout, the
// server's message on stderr, exit 1.
func forbidden(resource, group, ns string) plugintest.Response {
	scope := " at the cluster scope"
	if ns != "" {
		scope = ` in the namespace "` + ns + `"`
	}
	r := plugintest.Fail(1, `Error from server (Forbidden): `+resource+`.`+group+` is forbidden: User "system:serviceaccount:default:fence-recorder" cannot list resource "`+resource+`" in API group "`+group+`"`+scope+"\n")
	r.Result.Stdout = []byte("{\n    \"apiVersion\": \"v1\",\n    \"items\": [],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n")
	return r
}

func TestFailureModes(t *testing.T) {
	cm3 := readTestdata(t, "fixtures/clientmounts/compute-node-3.json")
	cases := []struct {
		name string
		resp plugintest.Response
		want string
	}{
		{"kubectl missing", plugintest.Response{Err: &exec.Error{Name: "/usr/bin/kubectl", Err: exec.ErrNotFound}},
			"kubectl could not be run while listing ClientMounts in namespace compute-node-3: exec: \"/usr/bin/kubectl\": executable file not found in $PATH"},
		{"forbidden with an empty List on stdout", forbidden("clientmounts", "dataworkflowservices.github.io", "compute-node-3"),
			`kubectl failed while listing ClientMounts in namespace compute-node-3 (exit status 1): Error from server (Forbidden): clientmounts.dataworkflowservices.github.io is forbidden`},
		{"connection refused", plugintest.Fail(1, "E1125 06:27:08.682704   15468 memcache.go:265] \"Unhandled Error\" err=\"couldn't get current server API group list: Get \\\"https://127.0.0.1:6443/api?timeout=32s\\\": dial tcp 127.0.0.1:6443: connect: connection refused\"\nThe connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?\n"),
			"(exit status 1): The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?"},
		{"timeout", plugintest.Timeout(), "kubectl timed out while listing ClientMounts in namespace compute-node-3"},
		{"request timeout inside kubectl", plugintest.Fail(1, "Unable to connect to the server: context deadline exceeded\n"),
			"(exit status 1): Unable to connect to the server: context deadline exceeded"},
		{"garbage", plugintest.Output([]byte("<html>502 Bad Gateway</html>")),
			"kubectl printed unreadable ClientMount JSON: jsonlite: offset 0:"},
		{"truncated", plugintest.Output(cm3[:len(cm3)/2]),
			"kubectl printed unreadable ClientMount JSON: jsonlite: offset"},
		{"trailing garbage", plugintest.Output(append(append([]byte{}, cm3...), []byte("}{")...)),
			"after top-level value"},
		{"no items", plugintest.Output([]byte(`{"apiVersion":"v1","kind":"List"}`)),
			`kubectl printed ClientMount JSON without an "items" list`},
		{"items not a list", plugintest.Output([]byte(`{"items":{}}`)),
			`"items" is not a list`},
		{"output cap", plugintest.Response{Result: plugin.ExecResult{Stdout: cm3[:100], StdoutTruncated: true}},
			"exceeded the command's output cap"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := plugintest.NewContext(t).Allow("kubectl").Script("kubectl", tc.resp, cmArgs("compute-node-3")...)
			res, err := Discover(ctx, request("compute-node-3", nil))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, res.Filesystems, "a failed discovery names nothing")
			assert.Equal(t, 1, res.Details["kubectl_calls"])
		})
	}
}

func TestDeniedKubectl(t *testing.T) {
	ctx := plugintest.NewContext(t) // nothing allowed
	_, err := Discover(ctx, request("compute-node-3", nil))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "kubectl is not granted to this strategy (strategies.kubectl-nnf.allow)"), err.Error())
}

func TestEmptyNamespaceIsAnEmptyAnswer(t *testing.T) {
	empty := []byte("{\n    \"apiVersion\": \"v1\",\n    \"items\": [],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n")
	ctx := plugintest.NewContext(t).Allow("kubectl").Script("kubectl", plugintest.Output(empty), cmArgs("compute-node-9")...)
	res, err := Discover(ctx, request("compute-node-9", nil))
	require.NoError(t, err)
	assert.Empty(t, res.Filesystems)
	assert.Equal(t, 0, res.Details["clientmounts"])
	assert.Equal(t, []map[string]any{}, res.Details["mounts"])
}

func TestUnexpectedTypesAreTreatedAsAbsent(t *testing.T) {
	ctx := plugintest.NewContext(t).Allow("kubectl").
		Script("kubectl", plugintest.Output(readTestdata(t, "tricky/unexpected-types.json")), cmArgs("compute-node-3")...)
	res, err := Discover(ctx, request("compute-node-3", nil))
	require.NoError(t, err)
	assert.Equal(t, []string{"default/fluxjob-102-0"}, res.Filesystems)
	assert.Equal(t, []string{"items[0] is not an object", "items[1] is not an object", "items[4] is a ConfigMap, not a ClientMount"}, res.Details["skipped"])
	assert.Equal(t, []string{"compute-node-3/status-is-a-list mount 0: no status and desiredState unmounted"}, res.Details["not_in_use"])
	mounts := res.Details["mounts"].([]map[string]any)
	require.Len(t, mounts, 1)
	m := mounts[0]
	assert.Equal(t, 1, m["mountIndex"], "index kept aligned with status.mounts past a non-object entry")
	assert.Equal(t, "", m["mountPath"], "mountPath of another type is absent")
	assert.Equal(t, 0, m["allocationIndex"], "a fractional index is absent")
	assert.Equal(t, false, m["ready"], `"ready": "true" is not a boolean, so not ready: still in use`)
	assert.NotContains(t, m, "volumeGroup")
	assert.Equal(t, 2, res.Details["gfs2_mounts"], "mounts[1] and status-is-a-list; a non-string type is not gfs2")
}

func TestNodeNameToNamespace(t *testing.T) {
	ok := []struct{ node, cfgKey, ns string }{
		{"compute-node-3", "", "compute-node-3"},
		{"compute-node-3.cluster.example.com", "", "compute-node-3"},
	}
	for _, c := range ok {
		ctx := plugintest.NewContext(t).Allow("kubectl").
			Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/clientmounts/compute-node-3.json")), cmArgs(c.ns)...)
		res, err := Discover(ctx, request(c.node, nil))
		require.NoError(t, err, c.node)
		assert.Equal(t, c.ns, res.Details["namespace"])
		assert.Len(t, res.Filesystems, 2)
	}
	for node, want := range map[string]string{
		"compute-node-3.example.com": "set strip_domain: true",
		"Compute-Node-3":             "lower-case",
	} {
		ctx := plugintest.NewContext(t).Allow("kubectl")
		_, err := Discover(ctx, request(node, map[string]any{"strip_domain": false}))
		require.Error(t, err, node)
		assert.Contains(t, err.Error(), want)
		assert.Empty(t, ctx.Calls(), "no kubectl for a name that cannot be a namespace")
	}
}

func TestConfigFlagsReachKubectl(t *testing.T) {
	cfg := map[string]any{
		"kubeconfig": "/etc/fence_gfs2_recorder/kubeconfig", "context": "rabbit",
		"request_timeout": float64(4), "cache_dir": "/var/cache/fence_gfs2_recorder/kube",
		"clientmount_version": "v1alpha6", "nnf_version": "", "verify_nnfstorage": true,
	}
	flags := []string{"--kubeconfig=/etc/fence_gfs2_recorder/kubeconfig", "--context=rabbit",
		"--request-timeout=4s", "--cache-dir=/var/cache/fence_gfs2_recorder/kube"}
	ctx := plugintest.NewContext(t).Allow("kubectl").
		Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/clientmounts/compute-node-4.json")),
			append([]string{"get", "clientmounts.v1alpha6.dataworkflowservices.github.io", "-n", "compute-node-4", "-o", "json"}, flags...)...).
		Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/nnfstorages.json")),
			append([]string{"get", "nnfstorages.nnf.cray.hpe.com", "-A", "-o", "json"}, flags...)...)
	res, err := Discover(ctx, request("compute-node-4", cfg))
	require.NoError(t, err)
	assert.Equal(t, []string{"default/fluxjob-102-0", "default/projgfs"}, res.Filesystems)
}

func TestBadConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{"kubeconfig": true}, "config: kubeconfig: want a string, got a boolean"},
		{map[string]any{"verify_nnfstorage": "yes"}, "config: verify_nnfstorage: want true or false, got a string"},
		{map[string]any{"request_timeout": "soon"}, `request_timeout: "soon" is not a duration`},
		{map[string]any{"request_timeout": 1.5}, "request_timeout: want whole seconds"},
		{map[string]any{"clientmount_version": "v1 alpha"}, `clientmount_version: "v1 alpha" is not an API version`},
	} {
		ctx := plugintest.NewContext(t).Allow("kubectl")
		_, err := Discover(ctx, request("compute-node-3", c.cfg))
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.want)
		assert.Empty(t, ctx.Calls())
	}
	// An unknown key is a warning, not a failure.
	ctx := plugintest.NewContext(t).Allow("kubectl").
		Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/clientmounts/compute-node-3.json")), cmArgs("compute-node-3")...)
	res, err := Discover(ctx, request("compute-node-3", map[string]any{"kubconfig": "/x"}))
	require.NoError(t, err)
	assert.Equal(t, []string{`unknown config key "kubconfig" ignored`}, res.Details["config_warnings"])
	require.NotEmpty(t, ctx.Logs())
	assert.Equal(t, plugin.LevelWarn, ctx.Logs()[0].Level)
}

func TestErrorLinePicksTheRealError(t *testing.T) {
	assert.Equal(t, "error: boom", errorLine([]byte("W1125 warning\nerror: boom\nI1125 trailing info\n")))
	assert.Equal(t, "last", errorLine([]byte("first\nlast\n\n")))
	assert.Equal(t, "", errorLine(nil))
	assert.Len(t, errorLine([]byte(strings.Repeat("x", 1000))), 403)
}

// listOf merges the items of kubectl List files, keeps those in namespace ns
// ("" = all), and prints them as kubectl would (a List; key order does not
// matter to the strategy).
func listOf(t *testing.T, ns string, files ...string) []byte {
	t.Helper()
	var items []map[string]any
	for _, f := range files {
		var l struct {
			Items []map[string]any `json:"items"`
		}
		require.NoError(t, json.Unmarshal(readTestdata(t, f), &l))
		for _, it := range l.Items {
			if md, _ := it["metadata"].(map[string]any); ns == "" || md["namespace"] == ns {
				items = append(items, it)
			}
		}
	}
	if items == nil {
		items = []map[string]any{}
	}
	b, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List",
		"metadata": map[string]any{"resourceVersion": ""}, "items": items}, "", "    ")
	require.NoError(t, err)
	return b
}

// The tricky cases without kubectl (TestRealKubectlTricky runs them through
// the real one).
func TestTrickyNative(t *testing.T) {
	e := loadExpected(t, "tricky/expected.json")
	storages := listOf(t, "", "fixtures/nnfstorages.json", "tricky/nnfstorages.json")
	all := append(nodes(e.Computes), nodes(e.Errors)...)
	for _, node := range all {
		t.Run(node, func(t *testing.T) {
			ctx := plugintest.NewContext(t).Allow("kubectl").
				Script("kubectl", plugintest.Output(listOf(t, node, "fixtures/clientmounts-all.json", "tricky/clientmounts.json")), cmArgs(node)...).
				Script("kubectl", plugintest.Output(storages), nnfArgs...)
			res, err := Discover(ctx, request(node, nil))
			if want, ok := e.Errors[node]; ok {
				require.Error(t, err)
				assert.Contains(t, err.Error(), want)
			} else {
				require.NoError(t, err)
				assertMatches(t, e, node, res, false)
			}
			assert.Equal(t, e.KubectlCalls[node], res.Details["kubectl_calls"])
			assert.Len(t, ctx.Calls(), e.KubectlCalls[node])
			if want, ok := e.IdentifiedBy[node]; ok {
				assert.Equal(t, want, res.Details["identified_by"])
			}
		})
	}
}

func TestLabelsThatDisagreeAreNoted(t *testing.T) {
	ctx := plugintest.NewContext(t).Allow("kubectl").
		Script("kubectl", plugintest.Output(listOf(t, "compute-node-34", "tricky/clientmounts.json")), cmArgs("compute-node-34")...).
		Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/nnfstorages.json")), nnfArgs...)
	res, err := Discover(ctx, request("compute-node-34", nil))
	require.NoError(t, err)
	assert.Equal(t, []string{"default/fluxjob-102-0"}, res.Filesystems)
	assert.Equal(t, true, res.Details["labels_incomplete"])
	mounts := res.Details["mounts"].([]map[string]any)
	require.Len(t, mounts, 2)
	assert.Equal(t, "labels name default/projgfs but the uid belongs to default/fluxjob-102-0", mounts[1]["note"])
}

// Items from other namespaces (a wrapper that ignores -n, a cluster-wide
// list) never count, and compute-node-30's mounts are never compute-node-3's.
func TestOtherNamespacesNeverCount(t *testing.T) {
	ctx := plugintest.NewContext(t).Allow("kubectl").
		Script("kubectl", plugintest.Output(listOf(t, "", "tricky/clientmounts.json")), cmArgs("compute-node-3")...)
	res, err := Discover(ctx, request("compute-node-3", nil))
	require.NoError(t, err)
	assert.Empty(t, res.Filesystems)
	skipped := res.Details["skipped"].([]string)
	assert.Len(t, skipped, 10, "every item of tricky/clientmounts.json")
	assert.Contains(t, skipped, "compute-node-30/ns2-fluxjob-300-0-computes is not in namespace compute-node-3")
}

// A default pin the server does not serve falls back to the server's
// preferred version once; an explicit pin does not.
func TestPinnedVersionNotServed(t *testing.T) {
	notServed := plugintest.Fail(1, "error: the server doesn't have a resource type \"clientmounts\"\n")
	unpinned := []string{"get", "clientmounts.dataworkflowservices.github.io", "-n", "compute-node-3", "-o", "json"}

	ctx := plugintest.NewContext(t).Allow("kubectl").
		Script("kubectl", notServed, cmArgs("compute-node-3")...).
		Script("kubectl", plugintest.Output(readTestdata(t, "fixtures/clientmounts/compute-node-3.json")), unpinned...)
	res, err := Discover(ctx, request("compute-node-3", nil))
	require.NoError(t, err)
	assert.Equal(t, []string{"default/fluxjob-102-0", "default/projgfs"}, res.Filesystems)
	assert.Equal(t, 2, res.Details["kubectl_calls"])
	assert.Equal(t, []string{"clientmounts.v1alpha7.dataworkflowservices.github.io is not served; used the server's preferred version"}, res.Details["version_fallbacks"])

	// CRDs not installed at all: both fail, the error says so.
	ctx = plugintest.NewContext(t).Allow("kubectl").Script("kubectl", notServed)
	res, err = Discover(ctx, request("compute-node-3", nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `error: the server doesn't have a resource type "clientmounts" (the API server does not serve this resource at that version: are the DWS/NNF CRDs installed? see clientmount_version and nnf_version)`)
	assert.Equal(t, 2, res.Details["kubectl_calls"])

	// A site's own pin is kept.
	ctx = plugintest.NewContext(t).Allow("kubectl").Script("kubectl", notServed)
	res, err = Discover(ctx, request("compute-node-3", map[string]any{"clientmount_version": "v1alpha7"}))
	require.Error(t, err)
	assert.Equal(t, 1, res.Details["kubectl_calls"])
	assert.Len(t, ctx.Calls(), 1)
}
