package pairing

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
)

// fixtureDir holds CIBs made by real pcs -f and read back by real cibadmin
// (testdata/pairing/generate.sh, `make pairing-fixtures`).
const fixtureDir = "../../testdata/pairing"

type want struct {
	kind    Kind
	devices []string
	level   string // index, AloneInLevel only
	target  string // TargetText, AloneInLevel only
}

// cases: what each fixture must yield. The fixtures are described in
// generate.sh; the expectations are the safety rules, not a recording of
// what the code returned.
var cases = map[string][]want{
	"paired":            nil,
	"alone":             {{kind: AloneInLevel, devices: []string{"recorder"}, level: "1", target: "target compute-node-3"}},
	"no-level":          {{kind: InNoLevel, devices: []string{"recorder"}}},
	"alone-then-paired": {{kind: AloneInLevel, devices: []string{"recorder"}, level: "1", target: "target compute-node-3"}},
	"two-recorders":     {{kind: AloneInLevel, devices: []string{"recorder", "recorder2"}, level: "1", target: "target compute-node-3"}},
	"disabled-alone":    nil,
	"no-recorder":       nil,
	"pattern-alone":     {{kind: AloneInLevel, devices: []string{"recorder"}, level: "2", target: "targets matching ^compute-node-[0-9]+$"}},
	"attribute-alone":   {{kind: AloneInLevel, devices: []string{"recorder"}, level: "2", target: "targets with node attribute rack=r1"}},
	"template":          {{kind: AloneInLevel, devices: []string{"recorder-t"}, level: "2", target: "target compute-node-4"}},
}

func assertProblems(t *testing.T, w []want, got []Problem) {
	t.Helper()
	require.Len(t, got, len(w), "problems: %v", got)
	for i, p := range got {
		assert.Equal(t, w[i].kind, p.Kind)
		assert.Equal(t, w[i].devices, p.Devices)
		if p.Kind == AloneInLevel {
			assert.Equal(t, w[i].level, p.Level.Index)
			assert.Equal(t, w[i].target, p.Level.TargetText())
		}
	}
}

func TestFindOnFixtures(t *testing.T) {
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			conf, err := os.ReadFile(filepath.Join(fixtureDir, name+".xml"))
			require.NoError(t, err)
			got, err := Find(conf)
			require.NoError(t, err)
			assertProblems(t, w, got)

			// The whole CIB (root <cib>) gives the same answer.
			whole, err := os.ReadFile(filepath.Join(fixtureDir, name+".cib.xml"))
			require.NoError(t, err)
			got, err = Find(whole)
			require.NoError(t, err)
			assertProblems(t, w, got)
		})
	}
}

func TestMessages(t *testing.T) {
	alone := Problem{Kind: AloneInLevel, Devices: []string{"recorder"},
		Level: Level{Index: "1", Devices: []string{"recorder"}, Target: "compute-node-3"}}
	msg := alone.Error()
	for _, s := range []string{`recorder device "recorder" is alone in fencing level 1 for target compute-node-3`,
		"real fence device", "pcs stonith level delete 1 target compute-node-3; pcs stonith level add 1 compute-node-3 recorder REAL_DEVICE",
		"set safety.pairing_check: false"} {
		assert.Contains(t, msg, s)
	}

	pattern := Problem{Kind: AloneInLevel, Devices: []string{"r1", "r2"},
		Level: Level{Index: "2", Devices: []string{"r1", "r2"}, TargetPattern: "^cn-[0-9]+$"}}
	msg = pattern.Error()
	assert.Contains(t, msg, `devices "r1", "r2" are the only devices of fencing level 2 for targets matching ^cn-[0-9]+$`)
	assert.Contains(t, msg, "pcs stonith level add 2 'regexp%^cn-[0-9]+$' r1 r2 REAL_DEVICE")

	attr := Level{TargetAttribute: "rack", TargetValue: "r1"}
	assert.Equal(t, "'attrib%rack=r1'", attr.pcsTarget())

	none := Problem{Kind: InNoLevel, Devices: []string{"recorder"}, Hosts: []string{"compute-node-3", "compute-node-4"}}
	msg = none.Error()
	assert.Contains(t, msg, `recorder device "recorder" is in no fencing level (it lists compute-node-3, compute-node-4)`)
	assert.Contains(t, msg, "pcs stonith level add 1 compute-node-3 recorder REAL_DEVICE")
	assert.Contains(t, msg, "set safety.pairing_check: false")
}

func TestFindBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"empty":        "",
		"not xml":      "Could not connect to the CIB",
		"wrong root":   "<status/>",
		"cib no conf":  "<cib><status/></cib>",
		"unterminated": "<configuration><resources>",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Find([]byte(in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "parse CIB")
		})
	}
	// Devices a level names but the CIB does not define are not recorders.
	got, err := Find([]byte(`<configuration><resources/><fencing-topology>
		<fencing-level id="l" index="1" target="n" devices="ghost"/></fencing-topology></configuration>`))
	require.NoError(t, err)
	assert.Empty(t, got)
}

// A recorder stopped through the group that holds it, or through a rule-less
// meta set only: a rule may not apply now, so that recorder is checked.
func TestDisabledThroughParentAndRules(t *testing.T) {
	cib := `<configuration><resources>
	  <group id="g"><meta_attributes id="gm"><nvpair id="g1" name="target-role" value="stopped"/></meta_attributes>
	    <primitive id="in-group" class="stonith" type="fence_gfs2_recorder"/></group>
	  <primitive id="ruled" class="stonith" type="fence_gfs2_recorder">
	    <meta_attributes id="rm"><rule id="r" boolean-op="and" score="INFINITY"><date_expression id="d" operation="lt" end="2000-01-01"/></rule>
	      <nvpair id="r1" name="target-role" value="Stopped"/></meta_attributes></primitive>
	</resources><fencing-topology/></configuration>`
	got, err := Find([]byte(cib))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, InNoLevel, got[0].Kind)
	assert.Equal(t, []string{"ruled"}, got[0].Devices)
}

func cibadminPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("cibadmin")
	if err != nil {
		t.Skip("cibadmin not installed (apt-get install pacemaker-cli-utils): " + err.Error())
	}
	return p
}

// configFor points commands.cibadmin at the real cibadmin reading a fixture
// file through CIB_file: the same command line the agent runs on a cluster.
func configFor(t *testing.T, cibadmin, fixture string) *config.Config {
	t.Helper()
	cfg := config.Defaults()
	abs, err := filepath.Abs(filepath.Join(fixtureDir, fixture+".cib.xml"))
	require.NoError(t, err)
	c := cfg.Commands[CommandName]
	c.Path = cibadmin
	c.SetEnv = map[string]string{"CIB_file": abs}
	cfg.Commands[CommandName] = c
	return &cfg
}

func warnLogger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func TestCheckWithRealCibadmin(t *testing.T) {
	cibadmin := cibadminPath(t)
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := configFor(t, cibadmin, name)
			conf, err := ReadCIB(context.Background(), cfg)
			require.NoError(t, err)
			got, err := Find(conf)
			require.NoError(t, err)
			assertProblems(t, w, got)

			logger, logs := warnLogger()
			err = Check(context.Background(), cfg, logger)
			if w == nil {
				assert.NoError(t, err)
			} else {
				require.Error(t, err)
				for _, p := range got {
					assert.Contains(t, err.Error(), p.Error())
				}
			}
			assert.NotContains(t, logs.String(), "level=WARN")
		})
	}
}

func TestCheckOff(t *testing.T) {
	cfg := configFor(t, cibadminPath(t), "alone")
	require.Error(t, Check(context.Background(), cfg, nil))
	cfg.Safety.PairingCheck = false
	logger, logs := warnLogger()
	assert.NoError(t, Check(context.Background(), cfg, logger))
	assert.Contains(t, logs.String(), "pairing check off")
}

// An unreadable CIB cannot prove a problem: pass, with a warning that says why.
func TestCheckUnreadableCIB(t *testing.T) {
	missing := config.Defaults()
	missing.Commands[CommandName] = config.Command{Path: "/nonexistent/cibadmin"}
	noCmd := config.Defaults()
	delete(noCmd.Commands, CommandName)
	tests := map[string]struct {
		cfg  *config.Config
		warn string
	}{
		"cibadmin missing":   {&missing, "/nonexistent/cibadmin"},
		"command not in cfg": {&noCmd, "commands.cibadmin is not configured"},
	}
	if p, err := exec.LookPath("cibadmin"); err == nil {
		// The real cibadmin with no cluster to ask (CIB_file names no file).
		down := config.Defaults()
		c := down.Commands[CommandName]
		c.Path = p
		c.SetEnv = map[string]string{"CIB_file": filepath.Join(t.TempDir(), "absent.xml")}
		down.Commands[CommandName] = c
		tests["cluster not running"] = struct {
			cfg  *config.Config
			warn string
		}{&down, "exit code"}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			logger, logs := warnLogger()
			assert.NoError(t, Check(context.Background(), tc.cfg, logger))
			assert.Contains(t, logs.String(), "level=WARN")
			assert.Contains(t, logs.String(), "pairing check skipped")
			assert.Contains(t, logs.String(), tc.warn)
			_, err := ReadCIB(context.Background(), tc.cfg)
			assert.Error(t, err)
		})
	}

	// Output that is not a CIB (a wrapper printing garbage) also passes with a warning.
	script := filepath.Join(t.TempDir(), "fake-cibadmin")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho 'not xml'\n"), 0o755))
	garbage := config.Defaults()
	garbage.Commands[CommandName] = config.Command{Path: script}
	logger, logs := warnLogger()
	assert.NoError(t, Check(context.Background(), &garbage, logger))
	assert.Contains(t, logs.String(), "parse CIB")

	// A cancelled context is a timeout, not a hang.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ReadCIB(ctx, &garbage)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no answer")
}

func FuzzFind(f *testing.F) {
	for _, name := range []string{"alone", "template", "disabled-alone"} {
		b, err := os.ReadFile(filepath.Join(fixtureDir, name+".xml"))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`<cib><configuration><fencing-topology><fencing-level devices=",,"/></fencing-topology></configuration></cib>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		problems, err := Find(b)
		if err != nil {
			return
		}
		for _, p := range problems {
			if p.Error() == "" || len(p.Devices) == 0 {
				t.Fatalf("problem without devices or message: %#v", p)
			}
		}
	})
}

// Parsing is the in-process share of the check; the cibadmin run dominates
// (BenchmarkCheckRealCibadmin).
func BenchmarkFind(b *testing.B) {
	conf, err := os.ReadFile(filepath.Join(fixtureDir, "alone.xml"))
	require.NoError(b, err)
	b.SetBytes(int64(len(conf)))
	for b.Loop() {
		if _, err := Find(conf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckRealCibadmin(b *testing.B) {
	p, err := exec.LookPath("cibadmin")
	if err != nil {
		b.Skip(err)
	}
	cfg := config.Defaults()
	c := cfg.Commands[CommandName]
	c.Path = p
	abs, _ := filepath.Abs(filepath.Join(fixtureDir, "paired.cib.xml"))
	c.SetEnv = map[string]string{"CIB_file": abs}
	cfg.Commands[CommandName] = c
	for b.Loop() {
		if err := Check(context.Background(), &cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}
