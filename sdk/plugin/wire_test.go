package plugin

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/abi"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/assert"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/require"
)

func TestDecodeRequest(t *testing.T) {
	req, err := decodeRequest([]byte(`{"abi":1,"strategy":"kubectl-nnf","node":"compute-node-3","action":"reboot",
		"config":{"namespace":"default","fstypes":["gfs2"],"deep":{"n":2}},"future_field":[1,2]}`))
	require.NoError(t, err)
	assert.Equal(t, "compute-node-3", req.Node)
	assert.Equal(t, "reboot", req.Action)
	assert.Equal(t, "default", req.ConfigString("namespace", ""))
	assert.Equal(t, []string{"gfs2"}, req.ConfigStrings("fstypes", nil))
	assert.Equal(t, map[string]any{"n": 2.0}, req.Config["deep"])

	req, err = decodeRequest([]byte(`{"abi":1,"node":"n","action":"off","config":null}`))
	require.NoError(t, err)
	assert.NotNil(t, req.Config, "a strategy may index Config without a nil check")
}

func TestDecodeRequestErrors(t *testing.T) {
	for in, want := range map[string]string{
		`{"abi":2,"node":"n"}`:              "host sent ABI version 2, this SDK speaks 1",
		`{"node":"n"}`:                      "host sent ABI version -1",
		`{"abi":1,"node":5}`:                "bad request from host",
		`{"abi":1,"config":[1]}`:            "request config is not an object",
		`{"abi":1} trailing`:                "bad request from host",
		`not json`:                          "bad request from host",
		``:                                  "bad request from host",
		`{"abi":1,"node":"\ud800"` + "\x00": "bad request from host",
	} {
		_, err := decodeRequest([]byte(in))
		if assert.Error(t, err, in) {
			assert.Contains(t, err.Error(), want, in)
		}
	}
}

func TestEncodeResponseIsValidJSON(t *testing.T) {
	type resp struct {
		Filesystems  []string       `json:"filesystems"`
		Details      map[string]any `json:"details"`
		Error        string         `json:"error"`
		DetailsError string         `json:"details_error"`
	}
	decode := func(b []byte) resp {
		var r resp
		require.NoError(t, json.Unmarshal(b, &r), string(b))
		return r
	}

	r := decode(encodeResponse(Result{Filesystems: []string{"default/x", "ns2/\"odd\"\u2028"},
		Details: map[string]any{"count": 2, "names": []string{"a"}, "ok": true}}, nil))
	assert.Equal(t, []string{"default/x", "ns2/\"odd\"\u2028"}, r.Filesystems)
	assert.Equal(t, map[string]any{"count": 2.0, "names": []any{"a"}, "ok": true}, r.Details)
	assert.Empty(t, r.Error)

	r = decode(encodeResponse(Result{Filesystems: []string{"dropped"}}, errors.New("kubectl: forbidden")))
	assert.Empty(t, r.Filesystems, "an error answer names no filesystem")
	assert.Equal(t, "kubectl: forbidden", r.Error)

	r = decode(encodeResponse(Result{}, errors.New("")))
	assert.NotEmpty(t, r.Error, "an error must never look like success")

	r = decode(encodeResponse(Result{Filesystems: []string{"a/b"}, Details: map[string]any{"ch": make(chan int)}}, nil))
	assert.Equal(t, []string{"a/b"}, r.Filesystems)
	assert.Nil(t, r.Details)
	assert.NotEmpty(t, r.DetailsError)
}

func TestEncodeExecRequest(t *testing.T) {
	var got struct {
		Name string
		Args []string
	}
	require.NoError(t, json.Unmarshal(encodeExecRequest("kubectl", []string{"get", "x", `quote"d`, "\n"}), &got))
	assert.Equal(t, "kubectl", got.Name)
	assert.Equal(t, []string{"get", "x", `quote"d`, "\n"}, got.Args)

	require.NoError(t, json.Unmarshal(encodeExecRequest("pcs", nil), &got))
	assert.Empty(t, got.Args)
}

// frame builds a result frame the way docs/ABI.md lays it out.
func frame(code int32, flags uint32, stdout, stderr, msg string) []byte {
	f := make([]byte, 20)
	binary.LittleEndian.PutUint32(f[0:], uint32(code))
	binary.LittleEndian.PutUint32(f[4:], flags)
	binary.LittleEndian.PutUint32(f[8:], uint32(len(stdout)))
	binary.LittleEndian.PutUint32(f[12:], uint32(len(stderr)))
	binary.LittleEndian.PutUint32(f[16:], uint32(len(msg)))
	return append(append(append(f, stdout...), stderr...), msg...)
}

func TestDecodeFrame(t *testing.T) {
	r, err := decodeFrame("kubectl", frame(0, abi.FlagStdoutTruncated, `{"items":[]}`, "warning\n", ""))
	require.NoError(t, err)
	assert.Equal(t, &ExecResult{Command: "kubectl", ExitCode: 0, Stdout: []byte(`{"items":[]}`), Stderr: []byte("warning\n"), StdoutTruncated: true}, r)
	assert.NoError(t, r.Err())

	r, err = decodeFrame("pcs", frame(-1, abi.FlagTimedOut|abi.FlagStderrTruncated, "", "", ""))
	require.NoError(t, err)
	assert.True(t, r.TimedOut)
	assert.True(t, r.StderrTruncated)
	assert.EqualError(t, r.Err(), "command pcs timed out (limit commands.pcs.timeout, or the strategy's timeout when less of it remained)")

	r, err = decodeFrame("pcs", frame(1, 0, "", "Error: unable to get cib\nmore\n", ""))
	require.NoError(t, err)
	assert.EqualError(t, r.Err(), "command pcs exited with status 1: Error: unable to get cib")
}

func TestDecodeFrameFailures(t *testing.T) {
	_, err := decodeFrame("kubectl", frame(-1, abi.FlagDenied, "", "", `exec "kubectl" denied: not allowed`))
	require.ErrorIs(t, err, ErrDenied)
	assert.EqualError(t, err, `exec "kubectl" denied: not allowed`)

	_, err = decodeFrame("kubectl", frame(-1, abi.FlagStartFailed, "", "", "kubectl: fork/exec /usr/bin/kubectl: no such file or directory"))
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrDenied)
	assert.Contains(t, err.Error(), "no such file")

	_, err = decodeFrame("x", frame(0, 0, "", "", "")[:19])
	assert.ErrorContains(t, err, "truncated result frame")

	bad := frame(0, 0, "abc", "", "")
	binary.LittleEndian.PutUint32(bad[8:], 0xffffffff)
	_, err = decodeFrame("x", bad)
	assert.ErrorContains(t, err, "inconsistent result frame")
}

type fakeContext struct{ execs []string }

func (f *fakeContext) Exec(name string, args ...string) (*ExecResult, error) {
	f.execs = append(f.execs, name+" "+strings.Join(args, " "))
	return &ExecResult{Stdout: []byte("ok")}, nil
}
func (f *fakeContext) Logger() *Logger { return NewLogger(nil) }

// withRegistry runs the test with only regs registered.
func withRegistry(t *testing.T, regs ...registration) {
	saved := registry
	t.Cleanup(func() { registry = saved })
	registry = nil
	for _, r := range regs {
		Register(r.name, r.fn)
	}
}

func TestServe(t *testing.T) {
	withRegistry(t)
	assert.Contains(t, string(serve([]byte(`{"abi":1}`), &fakeContext{})), "no strategy registered")

	withRegistry(t, registration{name: "t", fn: func(ctx Context, req Request) (Result, error) {
		res, err := ctx.Exec("kubectl", "get", "-n", req.Node)
		if err != nil {
			return Result{}, err
		}
		return Result{Filesystems: []string{req.Node + "/" + string(res.Stdout)}}, nil
	}})
	ctx := &fakeContext{}
	out := serve([]byte(`{"abi":1,"node":"c3","action":"off","config":{}}`), ctx)
	assert.JSONEq(t, `{"filesystems":["c3/ok"]}`, string(out))
	assert.Equal(t, []string{"kubectl get -n c3"}, ctx.execs)

	// One strategy answers under whatever name the host loads it as.
	out = serve([]byte(`{"abi":1,"strategy":"renamed","node":"c4","config":{}}`), ctx)
	assert.JSONEq(t, `{"filesystems":["c4/ok"]}`, string(out))

	out = serve([]byte(`{"abi":9}`), ctx)
	assert.Contains(t, string(out), `"error":"plugin: host sent ABI version 9`)
}

// A module serving several strategies runs the one the request names and
// refuses a name it does not serve, naming those it does.
func TestServeDispatchesByStrategy(t *testing.T) {
	answer := func(fs string) DiscoverFunc {
		return func(ctx Context, req Request) (Result, error) {
			return Result{Filesystems: []string{fs + ":" + req.Strategy}}, nil
		}
	}
	withRegistry(t, registration{name: "a", fn: answer("A")}, registration{name: "b", fn: answer("B")})
	assert.Equal(t, []string{"a", "b"}, Strategies())

	out := serve([]byte(`{"abi":1,"strategy":"b","node":"n"}`), &fakeContext{})
	assert.JSONEq(t, `{"filesystems":["B:b"]}`, string(out))
	out = serve([]byte(`{"abi":1,"strategy":"a","node":"n"}`), &fakeContext{})
	assert.JSONEq(t, `{"filesystems":["A:a"]}`, string(out))
	out = serve([]byte(`{"abi":1,"strategy":"c","node":"n"}`), &fakeContext{})
	assert.JSONEq(t, `{"filesystems":[],"error":"plugin: this module serves a, b; not \"c\""}`, string(out))
	out = serve([]byte(`{"abi":1,"node":"n"}`), &fakeContext{})
	assert.Contains(t, string(out), `not \"\"`, "a request without a strategy cannot be dispatched")
}

func TestRegisterRefusesDuplicatesAndNil(t *testing.T) {
	fn := func(Context, Request) (Result, error) { return Result{}, nil }
	withRegistry(t, registration{name: "a", fn: fn})
	assert.PanicsWithValue(t, "plugin: strategy a registered twice", func() { Register("a", fn) })
	assert.PanicsWithValue(t, "plugin: Register(b) with a nil function", func() { Register("b", nil) })
	assert.Equal(t, []string{"a"}, Strategies())
}

func TestNativeStubsReportNoHost(t *testing.T) {
	_, err := newHostContext().Exec("kubectl")
	assert.ErrorContains(t, err, "not running under fence_gfs2_recorder")
	newHostContext().Logger().Info("goes nowhere") // must not panic
}

func TestInfo(t *testing.T) {
	fn := func(Context, Request) (Result, error) { return Result{}, nil }
	withRegistry(t, registration{name: "kubectl-nnf", fn: fn})
	var info map[string]any
	require.NoError(t, json.Unmarshal(encodeInfo(), &info))
	assert.Equal(t, map[string]any{"name": "kubectl-nnf", "strategies": []any{"kubectl-nnf"},
		"commands": map[string]any{"kubectl-nnf": []any{}}, "sdk": SDKVersion, "abi": 1.0}, info)

	withRegistry(t, registration{name: "kubectl-nnf", fn: fn}, registration{name: "pcs-status", fn: fn})
	require.NoError(t, json.Unmarshal(encodeInfo(), &info))
	assert.Equal(t, []any{"kubectl-nnf", "pcs-status"}, info["strategies"])
}

// Needs puts each strategy's commands into fgr_info, alternatives together,
// for the host to check against the grants before any fence.
func TestInfoListsTheCommandsEachStrategyNeeds(t *testing.T) {
	fn := func(Context, Request) (Result, error) { return Result{}, nil }
	withRegistry(t)
	Register("kubectl-nnf", fn, Needs("kubectl"))
	Register("pcs-status", fn, Needs("crm_mon", "pcs"), Needs("cibadmin", "pcs"), Needs())
	var info map[string]any
	require.NoError(t, json.Unmarshal(encodeInfo(), &info))
	assert.Equal(t, map[string]any{
		"kubectl-nnf": []any{[]any{"kubectl"}},
		"pcs-status":  []any{[]any{"crm_mon", "pcs"}, []any{"cibadmin", "pcs"}},
	}, info["commands"])
}

// FuzzDecodeFrame: any bytes give a result or an error, never a panic, and
// an accepted frame's parts add up to its length.
func FuzzDecodeFrame(f *testing.F) {
	f.Add(frame(0, 0, "out", "err", ""))
	f.Add(frame(-1, abi.FlagDenied, "", "", "denied"))
	f.Add(frame(3, abi.FlagTimedOut|abi.FlagStdoutTruncated, "x", "", ""))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeFrame("cmd", b)
		if err != nil {
			return
		}
		if abi.FrameHeader+len(r.Stdout)+len(r.Stderr) > len(b) {
			t.Fatalf("result larger than its frame")
		}
	})
}

// FuzzDecodeRequest: any bytes give a request or an error, never a panic,
// and an accepted request always has a Config map.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"abi":1,"strategy":"s","node":"n","action":"reboot","config":{"a":[1,"x",null,true]}}`))
	f.Add([]byte(`{"abi":1}`))
	f.Add([]byte(`{"abi":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodeRequest(b)
		if err == nil && req.Config == nil {
			t.Fatal("accepted request without a Config map")
		}
	})
}
