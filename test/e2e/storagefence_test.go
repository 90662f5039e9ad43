package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakesos"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/record/recordtest"
)

// The storage-fence lab: the agent as a real fence device speaking nnf-sos's
// request/response protocol, answered by fakesos inside this test process.
const (
	sfLink = "/usr/sbin/fence_recorder" // what make install and the packages add

	sfAlone  = "compute-node-3" // level 1: nnf alone; fakesos fences it
	sfRefuse = "compute-node-4" // level 1: nnf (fakesos says failure); level 2: fence_dummy
	sfSilent = "compute-node-5" // level 1: nnf alone; fakesos never answers

	// The HA guide's own example: port is the NNF name, pcmk_host_list the
	// cluster name, and they differ.
	guidePort = "rabbit-compute-1"
	guideHost = "compute-1"

	sfAgentTimeout = 8  // fence_timeout of the nnf device, s
	sfPcmkTimeout  = 10 // its pcmk_reboot_timeout: the agent must exit before it
	stormSize      = 16 // computes of one rabbit, all fenced at once
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// sfRecord is the part of a storage-fence record the tests check.
type sfRecord struct {
	Action          string `json:"action"`
	PacemakerAction string `json:"pacemaker_action"`
	TargetNode      string `json:"target_node"`
	Status          string `json:"status"`
	RecorderNode    string `json:"recorder_node"`
	StorageFence    *struct {
		RequestID       string  `json:"request_id"`
		RequestFile     string  `json:"request_file"`
		ResponseFile    string  `json:"response_file"`
		Success         *bool   `json:"success"`
		Message         string  `json:"message"`
		ActionPerformed string  `json:"action_performed"`
		WaitMS          float64 `json:"wait_ms"`
		Outcome         string  `json:"outcome"`
		Error           string  `json:"error"`
	} `json:"storage_fence"`
}

func stormPort(i int) string { return fmt.Sprintf("rabbit-compute-%d", i+2) }
func stormHost(i int) string { return fmt.Sprintf("compute-%d", i+2) }

// stormMessage gives each compute an answer of its own (nnf-sos's R1 wording,
// a different storage-group count per compute), so a crossed answer shows.
func stormMessage(i int) string { return fakesos.MessageFenced(i + 1) }

// sfBehaviour is what the fake node manager does per target.
func sfBehaviour(r fakesos.Request) fakesos.Answer {
	switch r.TargetNode {
	case sfAlone:
		return fakesos.Answer{Shape: fakesos.R1, Success: true, Delay: 200 * time.Millisecond}
	case sfRefuse:
		return fakesos.Answer{Shape: fakesos.R1, Success: false,
			Message: "Failed to fence node: could not delete any storage groups. Errors: e2e"}
	case sfSilent:
		return fakesos.Answer{Silent: true}
	case guidePort:
		return fakesos.Answer{Shape: fakesos.R2, Success: true}
	}
	for i := 0; i < stormSize; i++ {
		if r.TargetNode == stormPort(i) {
			// Long enough that the sixteen requests are all pending together.
			return fakesos.Answer{Shape: fakesos.R1, Success: true, Message: stormMessage(i), Delay: 2 * time.Second}
		}
	}
	return fakesos.Answer{Silent: true}
}

// installSymlink adds link -> target (the way the packages install
// fence_recorder) and removes it when the test ends. A link to target that
// is already there (make install) is used as it is; anything else, such as
// another package's fence_recorder, is never replaced.
func installSymlink(tb testing.TB, target, link string) {
	tb.Helper()
	if _, err := os.Lstat(link); err == nil {
		if got, err := os.Readlink(link); err == nil && got == target {
			return
		}
		tb.Fatalf("%s exists and is not a link to %s: not replacing an installed fence_recorder", link, target)
	}
	require.NoError(tb, os.Symlink(target, link))
	tb.Cleanup(func() { os.Remove(link) })
}

// TestStorageFenceUnderFenced runs the agent in storage-fence mode under the
// real pacemaker-fenced: alone in a level it fences on nnf-sos's success,
// fails over to the next level on its failure, exits 1 before Pacemaker's
// timeout on silence; a device created exactly as NNF's HA guide creates
// fence_recorder works unchanged; sixteen computes fenced at once each get
// their own answer.
func TestStorageFenceUnderFenced(t *testing.T) {
	start := time.Now()
	claimLab(t)
	tmp := t.TempDir()
	reqDir, respDir := filepath.Join(tmp, "requests"), filepath.Join(tmp, "responses")
	logDir, guideLog := filepath.Join(tmp, "log"), filepath.Join(tmp, "log-guide")
	dummyStatus := filepath.Join(tmp, "dummy.status")
	cfg := filepath.Join(tmp, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("# e2e storage fence: written by test/e2e\ndiscovery:\n  enabled: false\n"), 0o644))
	host, err := os.Hostname()
	require.NoError(t, err)

	installAgent(t, true)
	installSymlink(t, filepath.Base(agentPath), sfLink)

	sos := fakesos.StartT(t, fakesos.Config{RequestDir: reqDir, ResponseDir: respDir, Behaviour: sfBehaviour})
	startCluster(t, build.Root)
	configStart := time.Now()

	// The storage-fence device, switched on by its parameter; fenced passes
	// the victim as port. Alone in level 1 for every target it has.
	must(t, "pcs", "stonith", "create", "nnf", "fence_gfs2_recorder",
		"nnf_storage_fence=1", "request_dir="+reqDir, "response_dir="+respDir, "log_dir="+logDir,
		"config_file="+cfg, fmt.Sprintf("fence_timeout=%d", sfAgentTimeout),
		"pcmk_host_list="+sfAlone+" "+sfRefuse+" "+sfSilent,
		fmt.Sprintf("pcmk_reboot_timeout=%d", sfPcmkTimeout), fmt.Sprintf("pcmk_off_timeout=%d", sfPcmkTimeout),
		"op", "monitor", "interval=10s", "--disabled")
	must(t, "pcs", "stonith", "create", "realfence", "fence_dummy",
		"status_file="+dummyStatus, "pcmk_host_list="+sfRefuse)
	for _, n := range []string{sfAlone, sfRefuse, sfSilent} {
		must(t, "pcs", "stonith", "level", "add", "1", n, "nnf", "--force")
	}
	must(t, "pcs", "stonith", "level", "add", "2", sfRefuse, "realfence", "--force")
	must(t, "pcs", "stonith", "enable", "nnf")

	// The HA guide's device, word for word but for the directories; and
	// sixteen more of the same for the computes of one rabbit. No levels:
	// the guide configures none.
	guideID := "fence-" + guideHost
	must(t, "pcs", "stonith", "create", guideID, "fence_recorder",
		"port="+guidePort, "pcmk_host_list="+guideHost,
		"request_dir="+reqDir, "response_dir="+respDir, "log_dir="+guideLog,
		"op", "monitor", "interval=120s", "timeout=10s")
	// The sixteen are copies of the primitive pcs just made, differing only
	// in id, port and pcmk_host_list: a pcs call per device costs seconds
	// on a loaded machine, a cibadmin call milliseconds.
	staged := time.Now()
	prim := must(t, "cibadmin", "--query", "--xpath", "//primitive[@id='"+guideID+"']").stdout
	require.Contains(t, prim, `value="`+guidePort+`"`)
	for i := 0; i < stormSize; i++ {
		x := strings.ReplaceAll(prim, `id="`+guideID, `id="fence-`+stormHost(i))
		x = strings.ReplaceAll(x, `value="`+guidePort+`"`, `value="`+stormPort(i)+`"`)
		x = strings.ReplaceAll(x, `value="`+guideHost+`"`, `value="`+stormHost(i)+`"`)
		must(t, "cibadmin", "--create", "-o", "resources", "-X", x)
	}
	t.Logf("sixteen more devices added in %v", time.Since(staged).Round(100*time.Millisecond))
	must(t, "crm_resource", "--wait", "--timeout=120s")
	t.Logf("devices configured in %v", time.Since(configStart).Round(100*time.Millisecond))
	devices := []string{"nnf", "realfence", "fence-" + guideHost}
	for i := 0; i < stormSize; i++ {
		devices = append(devices, "fence-"+stormHost(i))
	}
	for _, dev := range devices {
		if !waitFor(60*time.Second, func() bool { return deviceStarted(t, dev) }) {
			t.Fatalf("device %s not Started (the pairing check must accept a storage-fence device alone):\n%s",
				dev, run(t, "", "crm_mon", "-1", "-r"))
		}
	}
	t.Logf("storage-fence lab ready in %v", time.Since(start).Round(100*time.Millisecond))

	requestsFor := func(target string) []fakesos.Request {
		var out []fakesos.Request
		for _, r := range sos.Requests() {
			if r.TargetNode == target {
				out = append(out, r)
			}
		}
		return out
	}
	recordsFor := func(dir, target string) []sfRecord {
		var out []sfRecord
		for _, r := range recordtest.Read[sfRecord](t, dir) {
			if r.TargetNode == target && r.StorageFence != nil {
				out = append(out, r)
			}
		}
		return out
	}
	// attempts: the requests of fenced's attempts at target in logDir (one
	// at least; fenced retries a device that fails fast) and their records,
	// one each and each with status and outcome outcome.
	attempts := func(t *testing.T, target, outcome string) ([]fakesos.Request, []sfRecord) {
		t.Helper()
		reqs := requestsFor(target)
		require.NotEmpty(t, reqs, "level 1 ran first")
		recs := recordsFor(logDir, target)
		require.Len(t, recs, len(reqs), "a record for every attempt, answered or not")
		for _, rec := range recs {
			assert.Equal(t, outcome, rec.Status)
			assert.Equal(t, outcome, rec.StorageFence.Outcome)
		}
		return reqs, recs
	}
	// readableStatuses: the STATUS= words of target's readable lines.
	readableStatuses := func(dir, target string) []string {
		b, err := os.ReadFile(filepath.Join(dir, "fence-events-readable.log"))
		require.NoError(t, err)
		var out []string
		for _, ln := range strings.Split(string(b), "\n") {
			if !strings.Contains(ln, "TARGET="+target+" ") {
				continue
			}
			for _, f := range strings.Fields(ln) {
				if v, ok := strings.CutPrefix(f, "STATUS="); ok {
					out = append(out, v)
				}
			}
		}
		return out
	}
	// checkRequest: the protocol's name, fields and publication.
	checkRequest := func(t *testing.T, r fakesos.Request, target, action string) {
		t.Helper()
		assert.NoError(t, r.Err, "nnf-sos could decode it")
		assert.False(t, r.Scanned, "seen through inotify, at once")
		assert.Regexp(t, uuidV4, r.RequestID)
		assert.Equal(t, target+"-"+r.RequestID+".json", r.File)
		assert.Equal(t, target, r.TargetNode)
		assert.Equal(t, action, r.Action)
		assert.Equal(t, host, r.RecorderNode)
		_, err := time.Parse(time.RFC3339Nano, r.Timestamp)
		assert.NoError(t, err, "timestamp %q", r.Timestamp)
	}

	t.Run("alone-in-level-fences-on-success", func(t *testing.T) {
		r := run(t, "", "stonith_admin", "--reboot", sfAlone, "--timeout", "60")
		require.Zero(t, r.code, "fenced on nnf-sos's success:\n%s", r)
		t.Logf("stonith_admin --reboot %s took %v", sfAlone, r.took.Round(time.Millisecond))
		reqs := requestsFor(sfAlone)
		require.Len(t, reqs, 1, "one request per fence")
		checkRequest(t, reqs[0], sfAlone, "reboot") // alone in its level: reboot is not split
		assert.NoFileExists(t, reqs[0].Path, "nnf-sos deleted the request")
		assert.FileExists(t, filepath.Join(respDir, reqs[0].File), "the response stays as the marker")

		recs := recordsFor(logDir, sfAlone)
		require.Len(t, recs, 1)
		sf := recs[0].StorageFence
		assert.Equal(t, "fenced", recs[0].Status)
		assert.Equal(t, "fenced", sf.Outcome)
		assert.Equal(t, reqs[0].RequestID, sf.RequestID)
		assert.Equal(t, reqs[0].File, filepath.Base(sf.RequestFile))
		assert.Equal(t, reqs[0].File, filepath.Base(sf.ResponseFile))
		require.NotNil(t, sf.Success)
		assert.True(t, *sf.Success)
		assert.Equal(t, fakesos.MessageFenced(1), sf.Message)
		assert.Equal(t, fakesos.ActionPerformed, sf.ActionPerformed)
		// fakesos answered 200 ms after it read the request; the agent's wait
		// starts after its directory fsync, a little after that read.
		assert.GreaterOrEqual(t, sf.WaitMS, 100.0, "it waited for the answer")
		assert.Equal(t, []string{"fenced"}, readableStatuses(logDir, sfAlone))
		h := must(t, "stonith_admin", "--history", sfAlone, "--output-as=xml")
		assert.Contains(t, h.stdout, `status="success"`)
	})

	t.Run("failure-runs-the-next-level", func(t *testing.T) {
		os.Remove(dummyStatus)
		r := run(t, "", "stonith_admin", "--reboot", sfRefuse, "--timeout", "60")
		require.Zero(t, r.code, "level 2 fenced it:\n%s", r)
		reqs, recs := attempts(t, sfRefuse, "refused")
		for _, q := range reqs {
			checkRequest(t, q, sfRefuse, "reboot")
		}
		for _, rec := range recs {
			require.NotNil(t, rec.StorageFence.Success)
			assert.False(t, *rec.StorageFence.Success)
			assert.Contains(t, rec.StorageFence.Message, "Failed to fence node")
		}
		for _, st := range readableStatuses(logDir, sfRefuse) {
			assert.Equal(t, "refused", st)
		}
		b, err := os.ReadFile(dummyStatus)
		require.NoError(t, err, "level 2's fence_dummy ran")
		t.Logf("%d attempt(s) on level 1, then fence_dummy left status %q; %v in all",
			len(reqs), strings.TrimSpace(string(b)), r.took.Round(time.Millisecond))
	})

	t.Run("silence-exits-1-before-pacemakers-timeout", func(t *testing.T) {
		r := run(t, "", "stonith_admin", "--reboot", sfSilent, "--timeout", "60")
		require.NotZero(t, r.code, "nobody answered, so the fence failed:\n%s", r)
		reqs, recs := attempts(t, sfSilent, "timeout")
		for _, rec := range recs {
			assert.Nil(t, rec.StorageFence.Success)
			// Its deadline counts from the agent's start; the wait begins
			// once the request is published, later on a loaded machine.
			assert.GreaterOrEqual(t, rec.StorageFence.WaitMS, float64(sfAgentTimeout*1000)*0.75, "it waited out its timeout")
			assert.Less(t, rec.StorageFence.WaitMS, float64(sfPcmkTimeout*1000), "the agent gave up, fenced did not kill it")
		}
		for _, q := range reqs {
			assert.NoFileExists(t, q.Path, "the agent withdrew its request")
		}
		assert.Equal(t, []string{"timeout"}, slices.Compact(readableStatuses(logDir, sfSilent)))
		t.Logf("%d attempt(s), stonith_admin rc=%d after %v", len(reqs), r.code, r.took.Round(time.Millisecond))
	})

	t.Run("ha-guide-device-unchanged", func(t *testing.T) {
		r := run(t, "", "stonith_admin", "--reboot", guideHost, "--timeout", "60")
		require.Zero(t, r.code, "%s", r)
		reqs := requestsFor(guidePort)
		require.Len(t, reqs, 1)
		checkRequest(t, reqs[0], guidePort, "reboot")
		assert.FileExists(t, filepath.Join(respDir, reqs[0].File))
		recs := recordsFor(guideLog, guidePort)
		require.Len(t, recs, 1, "the request carries port, the NNF name")
		assert.Equal(t, "fenced", recs[0].Status)
		assert.Equal(t, fakesos.MessageR2, recs[0].StorageFence.Message)
		assert.Equal(t, []string{"fenced"}, readableStatuses(guideLog, guidePort))
	})

	t.Run("sixteen-at-once", func(t *testing.T) {
		before := len(sos.Requests())
		var wg sync.WaitGroup
		results := make([]result, stormSize)
		for i := 0; i < stormSize; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = run(t, "", "stonith_admin", "--reboot", stormHost(i), "--timeout", "60")
			}()
		}
		wg.Wait()
		for i, r := range results {
			assert.Zero(t, r.code, "%s:\n%s", stormHost(i), r)
		}
		seen := sos.Requests()[before:]
		require.Len(t, seen, stormSize, "sixteen requests")
		byTarget := map[string]fakesos.Request{}
		for _, q := range seen {
			byTarget[q.TargetNode] = q
		}
		require.Len(t, byTarget, stormSize, "one per compute")
		// Overlap: every request was read before the first answer (2 s
		// after its own request) was written.
		firstAnswer, lastSeen := time.Time{}, time.Time{}
		for _, resp := range sos.Responses() {
			if strings.HasPrefix(resp.Request.TargetNode, "rabbit-compute-") && resp.Request.TargetNode != guidePort &&
				(firstAnswer.IsZero() || resp.At.Before(firstAnswer)) {
				firstAnswer = resp.At
			}
		}
		for _, q := range seen {
			if q.SeenAt.After(lastSeen) {
				lastSeen = q.SeenAt
			}
		}
		t.Logf("sixteen requests read within %v; first answer %v after the last request",
			lastSeen.Sub(seen[0].SeenAt).Round(time.Millisecond), firstAnswer.Sub(lastSeen).Round(time.Millisecond))

		recs := map[string]sfRecord{}
		for _, rec := range recordtest.Read[sfRecord](t, guideLog) {
			if rec.StorageFence != nil && rec.TargetNode != guidePort {
				recs[rec.TargetNode] = rec
			}
		}
		require.Len(t, recs, stormSize, "sixteen records")
		var ids []string
		for i := 0; i < stormSize; i++ {
			port := stormPort(i)
			q, ok := byTarget[port]
			require.True(t, ok, "request for %s", port)
			checkRequest(t, q, port, "reboot")
			rec := recs[port]
			require.NotNil(t, rec.StorageFence, port)
			assert.Equal(t, "fenced", rec.Status, port)
			assert.Equal(t, q.RequestID, rec.StorageFence.RequestID, "%s: its own request", port)
			assert.Equal(t, q.File, filepath.Base(rec.StorageFence.ResponseFile), "%s: its own response", port)
			assert.Equal(t, stormMessage(i), rec.StorageFence.Message, "%s: its own answer", port)
			ids = append(ids, q.RequestID)
		}
		sort.Strings(ids)
		assert.Len(t, slices.Compact(ids), stormSize, "sixteen distinct request ids")
	})

	t.Run("no-request-left", func(t *testing.T) {
		ents, err := os.ReadDir(reqDir)
		require.NoError(t, err)
		var left []string
		for _, e := range ents {
			left = append(left, e.Name())
		}
		assert.Empty(t, left, "answered requests deleted by nnf-sos, unanswered ones withdrawn by the agent")
	})

	t.Logf("STORAGE-FENCE E2E DURATION %v", time.Since(start).Round(100*time.Millisecond))
}
