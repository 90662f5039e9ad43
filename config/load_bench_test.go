package config

import (
	"path/filepath"
	"testing"
)

// Load runs on every fence, so its cost is measured here rather than
// asserted in a test.

// BenchmarkLoadNoFile is the common fence: no config file, a typical
// environment, the stdin options fenced sends.
func BenchmarkLoadNoFile(b *testing.B) {
	opts := LoadOptions{
		File:          "",
		Environ:       []string{"PATH=/usr/sbin:/usr/bin", "HOME=/var/lib/pacemaker", EnvConfigFile + "=", "LANG=C"},
		Overrides:     map[string]any{"log_dir": "/var/log/gfs2-fencing", "verbose": "0"},
		OverrideLayer: SourceStdin,
	}
	defaultFile = filepath.Join(b.TempDir(), "absent.yaml")
	b.Cleanup(func() { defaultFile = DefaultFile })
	for b.Loop() {
		if _, err := Load(opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadExampleFile adds the full example file (every key) and
// some environment.
func BenchmarkLoadExampleFile(b *testing.B) {
	opts := LoadOptions{File: "config.example.yaml", Environ: []string{
		"PATH=/usr/sbin:/usr/bin", "KUBECTL_CMD=/usr/bin/kubectl --kubeconfig /etc/k",
		"FENCE_GFS2_RECORDER_DISCOVERY__BUDGET=10s",
	}}
	for b.Loop() {
		if _, err := Load(opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDefaults is the floor: building the defaults without koanf.
func BenchmarkDefaults(b *testing.B) {
	for b.Loop() {
		c := Defaults()
		if err := c.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
