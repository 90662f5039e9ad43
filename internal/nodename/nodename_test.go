package nodename

import (
	"strings"
	"testing"
)

func TestValidNames(t *testing.T) {
	for _, name := range []string{
		"compute-node-3",
		"rabbit-node-1",
		"x",
		"node_1",
		"_underscore",
		"c1.cluster.example.com",
		"10.0.0.7",
		"UPPER-lower",
		strings.Repeat("a", MaxLabelLen),
		strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("a", 61), // 253 bytes
	} {
		if err := Validate(name); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", name, err)
		}
	}
}

func TestInvalidNames(t *testing.T) {
	for _, tc := range []struct{ name, why string }{
		{"", "empty"},
		{"-rf", "leading dash looks like an option"},
		{"--help", "leading dash looks like an option"},
		{"a.-b", "label starting with dash"},
		{".node", "leading dot"},
		{"node.", "trailing dot"},
		{"a..b", "doubled dot"},
		{"node 1", "space"},
		{"node\t1", "tab"},
		{"node\n1", "newline"},
		{"node\x00", "NUL"},
		{"node\x1b[31m", "escape sequence"},
		{"node;reboot", "shell metacharacter ;"},
		{"$(touch /tmp/x)", "command substitution"},
		{"`id`", "backtick"},
		{"a|b", "pipe"},
		{"a&b", "ampersand"},
		{"a>b", "redirect"},
		{"a*b", "glob"},
		{"../etc/passwd", "path"},
		{"a/b", "slash"},
		{"ACTION=off", "equals sign"},
		{"'quoted'", "quote"},
		{"n\xffode", "non-UTF-8"},
		{"nöde", "non-ASCII"},
		{strings.Repeat("a", 10*1024), "10 KB"},
		{strings.Repeat("a", MaxLabelLen+1), "label too long"},
		{strings.Repeat("a.", 127), "254 bytes with trailing dot"},
	} {
		err := Validate(tc.name)
		if err == nil {
			t.Errorf("Validate(%q) accepted a name that must be rejected (%s)", tc.name, tc.why)
			continue
		}
		// The message must never echo the raw name: it can hold control bytes.
		if len(tc.name) > 3 && strings.Contains(err.Error(), tc.name) {
			t.Errorf("Validate(%q) error repeats the raw name: %v", tc.name, err)
		}
	}
}

func TestLengthBoundary(t *testing.T) {
	// 254 bytes made of valid labels: only the total length is wrong.
	name := strings.Repeat(strings.Repeat("b", 63)+".", 3) + strings.Repeat("b", 62)
	if len(name) != 254 {
		t.Fatalf("test name is %d bytes", len(name))
	}
	if Valid(name) {
		t.Errorf("254-byte name accepted")
	}
	if !Valid(name[:253]) {
		t.Errorf("253-byte name rejected: %v", Validate(name[:253]))
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"compute-node-3", "a..b", "-x", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !Valid(s) {
			return
		}
		// Anything accepted must be free of bytes a shell or a parser cares about.
		if strings.ContainsAny(s, " \t\r\n\x00;|&$`'\"\\<>()*?[]{}!#~/=") || s[0] == '-' || s[0] == '.' || len(s) > MaxLen {
			t.Fatalf("accepted unsafe name %q", s)
		}
	})
}
