package plugin

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/abi"
)

// The guest glue's //go:wasmexport and //go:wasmimport directives are the
// ABI the host checks modules against; sdk/abi is that ABI as data. They
// must name the same functions, or every SDK module fails to load.
func TestWasmDirectivesMatchTheABIPackage(t *testing.T) {
	files, err := filepath.Glob("*_wasip1.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no wasip1 glue files: %v", err)
	}
	directives := func(pattern string) []string {
		var names []string
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range regexp.MustCompile(`(?m)^//go:`+pattern+`$`).FindAllStringSubmatch(string(src), -1) {
				names = append(names, m[1])
			}
		}
		slices.Sort(names)
		return names
	}
	var wantExports, wantImports []string
	for _, f := range abi.Exports {
		wantExports = append(wantExports, f.Name)
	}
	for _, f := range abi.Imports {
		wantImports = append(wantImports, abi.HostModule+" "+f.Name)
	}
	slices.Sort(wantExports)
	slices.Sort(wantImports)

	if got := directives(`wasmexport (\S+)`); !slices.Equal(got, wantExports) {
		t.Errorf("%v export %q; sdk/abi lists %q", files, got, wantExports)
	}
	if got := directives(`wasmimport (\S+ \S+)`); !slices.Equal(got, wantImports) {
		t.Errorf("%v import %q; sdk/abi lists %q", files, got, wantImports)
	}
}
