package host

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// ABIVersion is the only guest ABI this host speaks (docs/ABI.md).
const ABIVersion = abi.Version

// The names of ABI v1 live in sdk/abi, shared with the Go SDK; these short
// aliases keep the host's code readable.
const (
	exportABIVersion = abi.ExportVersion
	exportAlloc      = abi.ExportAlloc
	exportDiscover   = abi.ExportDiscover
	exportInfo       = abi.ExportInfo
	exportMemory     = abi.ExportMemory
	exportInitialize = abi.ExportInitialize
	exportStart      = abi.ExportStart

	hostModule = abi.HostModule
	importExec = abi.ImportExec
	importTake = abi.ImportTake
	importLog  = abi.ImportLog

	wasiModule = abi.WASIModule
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
	flagTimedOut        = abi.FlagTimedOut
	flagDenied          = abi.FlagDenied
	flagStartFailed     = abi.FlagStartFailed
	flagStdoutTruncated = abi.FlagStdoutTruncated
	flagStderrTruncated = abi.FlagStderrTruncated
)

// encodeFrame lays out one exec result for the guest (abi.AppendFrame).
func encodeFrame(exitCode int32, flags uint32, stdout, stderr []byte, errMsg string) []byte {
	return abi.AppendFrame(make([]byte, 0, abi.FrameSize(stdout, stderr, errMsg)),
		abi.Frame{ExitCode: exitCode, Flags: flags, Stdout: stdout, Stderr: stderr, Error: errMsg})
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

// sigFor translates an sdk/abi signature into wazero's value types.
func sigFor(f abi.Func) signature {
	conv := func(vs []abi.ValType) []api.ValueType {
		var out []api.ValueType
		for _, v := range vs {
			switch v {
			case abi.I32:
				out = append(out, api.ValueTypeI32)
			case abi.I64:
				out = append(out, api.ValueTypeI64)
			default:
				panic("sdk/abi: value type " + v.String() + " has no wazero counterpart")
			}
		}
		return out
	}
	return signature{conv(f.Params), conv(f.Results)}
}

type namedSig struct {
	name string
	sig  signature
}

var (
	requiredExports, optionalExports = func() (req, opt []namedSig) {
		for _, f := range abi.Exports {
			if f.Required {
				req = append(req, namedSig{f.Name, sigFor(f)})
			} else {
				opt = append(opt, namedSig{f.Name, sigFor(f)})
			}
		}
		return req, opt
	}()

	hostImports = func() map[string]signature {
		m := map[string]signature{}
		for _, f := range abi.Imports {
			m[f.Name] = sigFor(f)
		}
		return m
	}()
)

// checkShape verifies a compiled module against ABI v1 before anything of it
// runs: required exports with their exact signatures, an exported memory, and
// imports only from modules the host provides. Errors say what was expected.
func checkShape(cm wazero.CompiledModule) error {
	exports := cm.ExportedFunctions()
	_, hasStart := exports[exportStart]
	_, hasInit := exports[exportInitialize]
	if hasStart && !hasInit {
		return errors.New("the module is a WASI command (it exports _start, not _initialize): build it as a reactor with " +
			"GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared; the host never runs _start")
	}
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
	for _, want := range optionalExports {
		if def, ok := exports[want.name]; ok {
			if got := sigOf(def); !sameSig(got, want.sig) {
				return fmt.Errorf("export %s should be %s, but is %s", want.name, want.sig, got)
			}
		}
	}
	return checkMemoryAndImports(cm)
}

// checkMemoryAndImports is what every module must pass, whatever it serves:
// an exported memory, and imports this host provides with the signatures it
// gives them.
func checkMemoryAndImports(cm wazero.CompiledModule) error {
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
