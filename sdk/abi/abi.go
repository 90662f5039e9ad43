// Package abi is the fgr ABI (docs/ABI.md) as data: the version, the names
// and signatures of the guest's exports and the host's imports, the exec
// result frame and its flags. The host (which checks modules against it)
// and the Go SDK (which implements the guest side) both import it, so the
// two cannot drift. It imports nothing: a guest linking it pays no bytes
// for fmt, reflect or encoding/binary.
//
// Extending the ABI compatibly (docs/ABI.md "Versioning") means adding a
// row to Exports or Imports, or a flag: Version stays 1.
package abi

// Version is the only ABI version: fgr_abi_version returns it, the request's
// "abi" member carries it, fgr_info's "abi" reports it.
const Version = 1

// Names of the guest's exports.
const (
	ExportVersion  = "fgr_abi_version"
	ExportAlloc    = "fgr_alloc"
	ExportDiscover = "fgr_discover"
	ExportInfo     = "fgr_info"
	// ExportReport delivers a durable record to a reporter (a module
	// serving reporters only need not export ExportDiscover).
	ExportReport = "fgr_report"
	ExportMemory = "memory"
	// ExportInitialize is the WASI reactor's initializer; a Go module built
	// with -buildmode=c-shared has it, a hand-written guest may omit it.
	ExportInitialize = "_initialize"
	// ExportStart marks a WASI command (a Go module built without
	// -buildmode=c-shared); the host never calls it, and a module with it
	// but without ExportInitialize is refused with that explanation.
	ExportStart = "_start"
)

// Module names a guest may import from.
const (
	HostModule = "fgr"
	WASIModule = "wasi_snapshot_preview1"
)

// Names of the host's imports (module HostModule).
const (
	ImportExec = "exec"
	ImportTake = "take"
	ImportLog  = "log"
)

// ValType is a WebAssembly value type of a signature; only the numeric
// types of Core 1.0 cross this boundary.
type ValType byte

const (
	I32 ValType = iota + 1
	I64
)

func (v ValType) String() string {
	switch v {
	case I32:
		return "i32"
	case I64:
		return "i64"
	}
	return "?"
}

// Func is one export or import with its exact signature.
type Func struct {
	Name     string
	Params   []ValType
	Results  []ValType
	Required bool // exports only: a module without it is refused
}

// Exports are the guest's function exports. A module must export the
// required ones with exactly these signatures, and the others, if at all,
// with theirs.
var Exports = []Func{
	{Name: ExportVersion, Results: []ValType{I32}, Required: true},
	{Name: ExportAlloc, Params: []ValType{I32}, Results: []ValType{I32}, Required: true},
	{Name: ExportDiscover, Params: []ValType{I32, I32}, Results: []ValType{I64}, Required: true},
	{Name: ExportInfo, Results: []ValType{I64}},
	{Name: ExportReport, Params: []ValType{I32, I32}, Results: []ValType{I64}},
}

// Imports are what module HostModule provides. A guest imports only what it
// uses; an import not listed here is refused at load.
var Imports = []Func{
	{Name: ImportExec, Params: []ValType{I32, I32}, Results: []ValType{I32}},
	{Name: ImportTake, Params: []ValType{I32, I32}, Results: []ValType{I32}},
	{Name: ImportLog, Params: []ValType{I32, I32, I32}},
}

// Lookup returns the row of fs named name.
func Lookup(fs []Func, name string) (Func, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	return Func{}, false
}

// String formats the signature as the host's errors show it:
// "(i32, i32) -> (i64)".
func (f Func) String() string {
	return "(" + typeList(f.Params) + ") -> (" + typeList(f.Results) + ")"
}

func typeList(ts []ValType) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ", "
		}
		s += t.String()
	}
	return s
}
