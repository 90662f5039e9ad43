package plugin

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/abi"
)

// The guest glue's //go:wasmexport and //go:wasmimport directives are the
// ABI the host checks modules against; sdk/abi is that ABI as data. They
// must name the same functions, or every SDK module fails to load.
func TestWasmDirectivesMatchTheABIPackage(t *testing.T) {
	directives := func(file, pattern string) []string {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range regexp.MustCompile(`(?m)^//go:`+pattern+`$`).FindAllStringSubmatch(string(src), -1) {
			names = append(names, m[1])
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

	if got := directives("exports_wasip1.go", `wasmexport (\S+)`); !slices.Equal(got, wantExports) {
		t.Errorf("exports_wasip1.go exports %q; sdk/abi lists %q", got, wantExports)
	}
	if got := directives("imports_wasip1.go", `wasmimport (\S+ \S+)`); !slices.Equal(got, wantImports) {
		t.Errorf("imports_wasip1.go imports %q; sdk/abi lists %q", got, wantImports)
	}
}
