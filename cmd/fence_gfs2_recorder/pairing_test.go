package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pairingEnv configures commands.cibadmin as the real cibadmin reading a
// fixture CIB file (made by real pcs -f, testdata/pairing) through CIB_file,
// with discovery off so only the pairing check can fail monitor.
func pairingEnv(t *testing.T, fixture, extra string) *env {
	t.Helper()
	cibadmin, err := exec.LookPath("cibadmin")
	if err != nil {
		t.Skip("cibadmin not installed (apt-get install pacemaker-cli-utils): " + err.Error())
	}
	cib, err := filepath.Abs(filepath.Join("../../testdata/pairing", fixture+".cib.xml"))
	require.NoError(t, err)
	_, err = os.Stat(cib)
	require.NoError(t, err)
	e := newEnv(t, "discovery:\n  enabled: false\ncommands:\n  cibadmin:\n    path: "+cibadmin+
		"\n    set_env:\n      CIB_file: "+cib+"\n"+extra)
	e.extra = nil // the check under test reads the fixture CIB, not this machine's cluster
	return e
}

func TestPairingCheckThroughTheBinary(t *testing.T) {
	// fenced runs monitor with the device parameters only, no device id.
	const monitor = "action=monitor\npcmk_host_list=compute-node-3\n"

	code, _, stderr := pairingEnv(t, "paired", "").run(monitor)
	assert.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "pairing")

	alone := pairingEnv(t, "alone", "")
	code, _, stderr = alone.run(monitor)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `monitor: pairing safety check: recorder device "recorder" is alone in fencing level 1 for target compute-node-3`)
	assert.Contains(t, stderr, "set safety.pairing_check: false")
	op, err := os.ReadFile(filepath.Join(alone.logDir, "fence-events.log"))
	require.NoError(t, err)
	assert.Contains(t, string(op), "monitor check failed")
	assert.Contains(t, string(op), "is alone in fencing level 1")

	// validate-all (what pcs runs on stonith create/update) refuses it too,
	// and creates no log files.
	fresh := pairingEnv(t, "no-level", "")
	code, _, stderr = fresh.run("", "-o", "validate-all")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `validate-all: pairing safety check: recorder device "recorder" is in no fencing level`)
	_, err = os.Stat(fresh.logDir)
	assert.True(t, os.IsNotExist(err), "validate-all creates nothing")

	code, _, stderr = pairingEnv(t, "alone", "safety:\n  pairing_check: false\n").run(monitor)
	assert.Equal(t, 0, code, stderr)

	// No cluster to ask: the check cannot prove a problem, warns and passes.
	down := pairingEnv(t, "alone", "")
	down.cfg = filepath.Join(t.TempDir(), "down.yaml")
	cibadmin, _ := exec.LookPath("cibadmin")
	require.NoError(t, os.WriteFile(down.cfg, []byte("log_dir: "+down.logDir+"\ndiscovery:\n  enabled: false\n"+
		"commands:\n  cibadmin:\n    path: "+cibadmin+"\n    set_env:\n      CIB_file: /nonexistent/cib.xml\n"), 0o600))
	code, _, stderr = down.run("", "-o", "validate-all")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "pairing check skipped: cannot read the CIB")
	code, _, stderr = down.run(monitor)
	assert.Equal(t, 0, code, stderr)
	op, err = os.ReadFile(filepath.Join(down.logDir, "fence-events.log"))
	require.NoError(t, err)
	assert.Contains(t, string(op), "pairing check skipped")
}
