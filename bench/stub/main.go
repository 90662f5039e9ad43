// Command stub stands in for kubectl, crm_mon or cibadmin in the benchmarks:
// it prints the file named by $FGR_STUB_OUT and exits 0, so a scenario
// prices the agent and not the cluster tool. With FGR_STUB_OUT unset it
// prints nothing: it is then the "trivial native Go binary" baseline.
package main

import (
	"io"
	"os"
)

func main() {
	name := os.Getenv("FGR_STUB_OUT")
	if name == "" {
		return
	}
	f, err := os.Open(name)
	if err != nil {
		os.Stderr.WriteString("stub: " + err.Error() + "\n")
		os.Exit(1)
	}
	defer f.Close()
	if _, err := io.Copy(os.Stdout, f); err != nil {
		os.Stderr.WriteString("stub: " + err.Error() + "\n")
		os.Exit(1)
	}
}
