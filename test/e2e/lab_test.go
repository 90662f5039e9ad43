package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/test/harness"
)

// Paths shared with scripts/pacemaker-lab (capture-fixtures.sh uses the
// same state dir, and harness.LabLock, so the two never run clusters at
// once).
const (
	labStateDir = "/tmp/fgr-pacemaker-lab"
	ownerFile   = labStateDir + "/owner"
)

// packages the harness needs; up.sh installs the same list.
var labPackages = []string{"corosync", "pacemaker", "pacemaker-cli-utils", "pcs",
	"fence-agents", "resource-agents", "libxml2-utils", "kmod"}

// skipLoudly skips with a message that cannot be missed in -v output; the
// only acceptable reasons are "not root" and "apt cannot reach its archive".
func skipLoudly(tb testing.TB, reason string) {
	tb.Helper()
	msg := "\n" + strings.Repeat("!", 72) + "\nE2E SKIPPED: " + reason +
		"\nThe end-to-end test under pacemaker-fenced did NOT run.\n" + strings.Repeat("!", 72)
	fmt.Fprintln(os.Stderr, msg)
	tb.Skip(msg)
}

func requireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		skipLoudly(tb, "not root (it installs packages and starts a cluster; CI runs it as root)")
	}
}

// ensurePackages installs the pacemaker stack when missing. An apt that
// cannot update its lists is the one reason to skip; a failing install of
// packages apt can see is a failure.
func ensurePackages(tb testing.TB) {
	tb.Helper()
	var missing []string
	for _, p := range labPackages {
		out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", p).Output()
		if err != nil || !strings.Contains(string(out), "install ok installed") {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return
	}
	tb.Logf("installing %v with apt", missing)
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	upd := exec.Command("apt-get", "update", "-q")
	upd.Env = env
	if out, err := upd.CombinedOutput(); err != nil {
		skipLoudly(tb, "apt-get update failed, packages "+strings.Join(missing, " ")+" cannot be installed: "+
			err.Error()+"\n"+tail(string(out), 10))
	}
	inst := exec.Command("apt-get", append([]string{"install", "-y", "-q", "--no-install-recommends"}, labPackages...)...)
	inst.Env = env
	if out, err := inst.CombinedOutput(); err != nil {
		tb.Fatalf("apt-get install %v: %v\n%s", missing, err, tail(string(out), 30))
	}
}

// claimLab readies the machine for a test that runs the lab cluster: it
// skips unless root, fails without a built agent, installs the pacemaker
// stack when missing, and holds the lab lock (another `go test ./...`, make
// fixtures) until the test ends.
func claimLab(tb testing.TB) {
	tb.Helper()
	requireRoot(tb)
	if build.Err != nil {
		tb.Fatal(build.Err)
	}
	ensurePackages(tb)
	harness.Lock(tb, harness.LabLock, "another e2e run or make fixtures")
}

// pidAlive reports whether the pid in file is alive and runs comm.
func pidAlive(file, comm string) (int, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	c, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return pid, err == nil && strings.TrimSpace(string(c)) == comm
}

// clusterDaemons lists running corosync/pacemakerd processes by pid.
func clusterDaemons() map[int]string {
	found := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		c, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil {
			continue
		}
		if name := strings.TrimSpace(string(c)); name == "corosync" || name == "pacemakerd" {
			found[pid] = name
		}
	}
	return found
}

// startCluster brings up the one-node cluster with a fresh CIB and
// registers its shutdown. It refuses to touch a cluster it did not start,
// except the leftover of an earlier e2e run whose process is gone (a run
// killed by go test's -timeout cannot run its cleanup).
func startCluster(tb testing.TB, root string) {
	tb.Helper()
	scripts := filepath.Join(root, "scripts", "pacemaker-lab")
	env := []string{"STATE_DIR=" + labStateDir}
	if _, up := pidAlive(filepath.Join(labStateDir, "pacemakerd.pid"), "pacemakerd"); up {
		owner, _ := os.ReadFile(ownerFile)
		var pid int
		if _, err := fmt.Sscanf(string(owner), "e2e %d", &pid); err != nil || processAlive(pid) {
			tb.Fatalf("a lab cluster is already running (owner %q); stop it with `make lab-down` first",
				strings.TrimSpace(string(owner)))
		}
		tb.Logf("stopping the cluster left behind by e2e run %d", pid)
		runScript(tb, filepath.Join(scripts, "down.sh"), env)
	}
	ours := map[int]bool{}
	for _, f := range []string{"corosync.pid", "pacemakerd.pid"} {
		if pid, ok := pidAlive(filepath.Join(labStateDir, f), strings.TrimSuffix(f, ".pid")); ok {
			ours[pid] = true
		}
	}
	for pid, name := range clusterDaemons() {
		if !ours[pid] {
			tb.Fatalf("%s (pid %d) runs outside the lab; refusing to start a second cluster", name, pid)
		}
	}
	tb.Cleanup(func() {
		start := time.Now()
		runScript(tb, filepath.Join(scripts, "down.sh"), env)
		os.Remove(ownerFile)
		tb.Logf("cluster stopped in %v", time.Since(start).Round(100*time.Millisecond))
	})
	start := time.Now()
	runScript(tb, filepath.Join(scripts, "up.sh"), append(env, "FRESH=1"))
	if err := os.WriteFile(ownerFile, []byte("e2e "+strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("cluster up in %v", time.Since(start).Round(100*time.Millisecond))
}

func processAlive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func runScript(tb testing.TB, script string, env []string) {
	tb.Helper()
	cmd := exec.Command(script)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s: %v\n%s", script, err, out)
	}
}

// result is one finished command.
type result struct {
	cmd            string
	stdout, stderr string
	code           int
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("$ %s\nrc=%d (%v)\nstdout:\n%s\nstderr:\n%s", r.cmd, r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// run runs a command with a 2 minute limit and returns what it did; it
// fails the test only when the command cannot be started.
func run(tb testing.TB, stdin string, name string, args ...string) result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	start := time.Now()
	err := cmd.Run()
	r := result{cmd: strings.Join(append([]string{name}, args...), " "), stdout: so.String(), stderr: se.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		tb.Fatalf("%s: %v", r.cmd, err)
	}
	return r
}

// must runs a command that has to succeed.
func must(tb testing.TB, name string, args ...string) result {
	tb.Helper()
	r := run(tb, "", name, args...)
	if r.code != 0 {
		tb.Fatalf("command failed:\n%s", r)
	}
	return r
}

// spyMark starts the shell wrappers the stdin and process spies put in the
// agent's place.
const spyMark = "#!/bin/bash\n# e2e "

// installFile puts src at dst with mode and restores whatever was there
// before (or removes dst) when the test ends.
func installFile(tb testing.TB, src, dst string, mode os.FileMode) {
	tb.Helper()
	backup := ""
	// A spy that a killed run left in place (spyMark) is not worth keeping:
	// restoring it would hand every later run, and the .deb test, a broken
	// agent.
	if old, err := os.ReadFile(dst); err == nil && !bytes.HasPrefix(old, []byte(spyMark)) {
		st, _ := os.Stat(dst)
		backup = filepath.Join(tb.TempDir(), filepath.Base(dst)+".orig")
		if err := os.WriteFile(backup, old, st.Mode().Perm()); err != nil {
			tb.Fatal(err)
		}
	}
	if err := copyFile(src, dst, mode); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if backup == "" {
			os.Remove(dst)
			return
		}
		st, _ := os.Stat(backup)
		if err := copyFile(backup, dst, st.Mode().Perm()); err != nil {
			tb.Errorf("restoring %s: %v", dst, err)
		}
	})
}

// copyFile writes through a temporary name and renames, so a process that
// execs dst at that moment sees the old or the new file, never half of one.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".e2e-tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// waitFor polls cond every 200 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
