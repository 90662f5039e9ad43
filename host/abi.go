package host

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// ABIVersion is the only guest ABI this host speaks (docs/ABI.md).
const ABIVersion = 1

// Guest exports and host imports of ABI v1. The names are the contract; keep
// them in one place so the checks and the docs cannot drift.
const (
	exportABIVersion = "fgr_abi_version"
	exportAlloc      = "fgr_alloc"
	exportDiscover   = "fgr_discover"
	exportInfo       = "fgr_info" // optional
	exportMemory     = "memory"
	exportInitialize = "_initialize" // Go c-shared reactors; optional for hand-written guests

	hostModule = "fgr"
	importExec = "exec"
	importTake = "take"
	importLog  = "log"

	wasiModule = "wasi_snapshot_preview1"
)

// Size limits the host enforces on what crosses the boundary.
const (
	maxModuleBytes   = 64 << 20 // a .wasm larger than this is refused before reading it all
	maxResponseBytes = 4 << 20  // fgr_discover's answer
	maxInfoBytes     = 64 << 10 // fgr_info's answer
	maxExecRequest   = 1 << 20  // fgr.exec's request JSON
	maxLogMessage    = 16 << 10 // one fgr.log line; longer lines are cut
	maxLogLines      = 1000     // per discover call; later lines are counted, not kept
	maxGuestOutput   = 64 << 10 // guest stdout and stderr kept per call
)

// Exec result frame flags (docs/ABI.md "Exec result frame").
const (
	flagTimedOut        = 1
	flagDenied          = 2
	flagStartFailed     = 4
	flagStdoutTruncated = 8
	flagStderrTruncated = 16
)

const frameHeader = 20

// encodeFrame lays out one exec result for the guest: little-endian i32
// exit_code, u32 flags, u32 stdout_len, u32 stderr_len, u32 error_len, then
// the three byte strings. Raw bytes avoid escaping megabytes of kubectl JSON.
func encodeFrame(exitCode int32, flags uint32, stdout, stderr []byte, errMsg string) []byte {
	f := make([]byte, frameHeader, frameHeader+len(stdout)+len(stderr)+len(errMsg))
	binary.LittleEndian.PutUint32(f[0:], uint32(exitCode))
	binary.LittleEndian.PutUint32(f[4:], flags)
	binary.LittleEndian.PutUint32(f[8:], uint32(len(stdout)))
	binary.LittleEndian.PutUint32(f[12:], uint32(len(stderr)))
	binary.LittleEndian.PutUint32(f[16:], uint32(len(errMsg)))
	f = append(f, stdout...)
	f = append(f, stderr...)
	return append(f, errMsg...)
}

type signature struct {
	params, results []api.ValueType
}

func (s signature) String() string {
	return "(" + typeList(s.params) + ") -> (" + typeList(s.results) + ")"
}

func typeList(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ", ")
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64

	requiredExports = []struct {
		name string
		sig  signature
	}{
		{exportABIVersion, signature{nil, []api.ValueType{i32}}},
		{exportAlloc, signature{[]api.ValueType{i32}, []api.ValueType{i32}}},
		{exportDiscover, signature{[]api.ValueType{i32, i32}, []api.ValueType{i64}}},
	}
	infoSignature = signature{nil, []api.ValueType{i64}}

	hostImports = map[string]signature{
		importExec: {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
		importTake: {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
		importLog:  {[]api.ValueType{i32, i32, i32}, nil},
	}
)

// checkShape verifies a compiled module against ABI v1 before anything of it
// runs: required exports with their exact signatures, an exported memory, and
// imports only from modules the host provides. Errors say what was expected.
func checkShape(cm wazero.CompiledModule) error {
	exports := cm.ExportedFunctions()
	for _, want := range requiredExports {
		def, ok := exports[want.name]
		if !ok {
			return fmt.Errorf("missing export %q: a strategy must export %s %s (is it built with the fence_gfs2_recorder SDK and -buildmode=c-shared?)",
				want.name, want.name, want.sig)
		}
		if got := sigOf(def); !sameSig(got, want.sig) {
			return fmt.Errorf("export %s should be %s, but is %s", want.name, want.sig, got)
		}
	}
	if def, ok := exports[exportInfo]; ok {
		if got := sigOf(def); !sameSig(got, infoSignature) {
			return fmt.Errorf("export %s should be %s, but is %s", exportInfo, infoSignature, got)
		}
	}
	if _, ok := cm.ExportedMemories()[exportMemory]; !ok {
		return fmt.Errorf("missing export %q: the host writes requests into the guest's exported memory", exportMemory)
	}
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		switch mod {
		case wasiModule:
		case hostModule:
			want, ok := hostImports[name]
			if !ok {
				return fmt.Errorf("imports %s.%s, which this host (ABI %d) does not provide", mod, name, ABIVersion)
			}
			if got := sigOf(def); !sameSig(got, want) {
				return fmt.Errorf("import %s.%s should be %s, but is %s", mod, name, want, got)
			}
		default:
			return fmt.Errorf("imports %s.%s: the host only provides modules %q and %q", mod, name, hostModule, wasiModule)
		}
	}
	return nil
}

func sigOf(def api.FunctionDefinition) signature {
	return signature{def.ParamTypes(), def.ResultTypes()}
}

func sameSig(a, b signature) bool {
	return slices.Equal(a.params, b.params) && slices.Equal(a.results, b.results)
}
