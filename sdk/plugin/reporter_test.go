package plugin

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/assert"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/internal/require"
)

func TestDecodeReport(t *testing.T) {
	rep, err := decodeReport([]byte(`{"abi":1,"reporter":"k8s-event","record":{"event_id":"e1","gfs2_filesystems":["a"]},
		"config":{"namespace":"nnf"},"future":[1]}`))
	require.NoError(t, err)
	assert.Equal(t, "k8s-event", rep.Reporter)
	assert.JSONEq(t, `{"event_id":"e1","gfs2_filesystems":["a"]}`, string(rep.Record), "the record's bytes, as sent")
	assert.Equal(t, "nnf", rep.ConfigString("namespace", ""))

	for doc, want := range map[string]string{
		`{"abi":2,"record":{}}`:             "host sent ABI version 2",
		`{"abi":1}`:                         "without a record",
		`{"abi":1,"record":{`:               "bad report request",
		`{"abi":1,"record":{},"config":[]}`: "config is not an object",
	} {
		_, err := decodeReport([]byte(doc))
		require.Error(t, err, doc)
		assert.Contains(t, err.Error(), want, doc)
	}
}

func TestServeReportAnswersTheReportersError(t *testing.T) {
	saved := reporters
	defer func() { reporters = saved }()
	reporters = nil
	var got Report
	RegisterReporter("a", func(_ Context, rep Report) error { got = rep; return nil })
	RegisterReporter("b", func(Context, Report) error { return errors.New("endpoint down") })
	ok := serveReport([]byte(`{"abi":1,"reporter":"a","record":{"x":1}}`), nil)
	assert.JSONEq(t, `{"error":""}`, string(ok))
	assert.Equal(t, `{"x":1}`, string(got.Record))
	assert.JSONEq(t, `{"error":"endpoint down"}`, string(serveReport([]byte(`{"abi":1,"reporter":"b","record":{}}`), nil)))
	var resp struct{ Error string }
	require.NoError(t, json.Unmarshal(serveReport([]byte(`{"abi":1,"reporter":"c","record":{}}`), nil), &resp))
	assert.Equal(t, `plugin: this module serves reporters a, b; not "c"`, resp.Error)
	assert.Equal(t, []string{"a", "b"}, Reporters())
}

func TestExecInputRequest(t *testing.T) {
	var req struct {
		Name  string
		Args  []string
		Stdin *string
	}
	require.NoError(t, json.Unmarshal(encodeExecInput("kubectl", []string{"create", "-f", "-"}, []byte("{\"kind\":\"Event\"}\n")), &req))
	assert.Equal(t, "kubectl", req.Name)
	assert.Equal(t, []string{"create", "-f", "-"}, req.Args)
	require.NotNil(t, req.Stdin)
	assert.Equal(t, "{\"kind\":\"Event\"}\n", *req.Stdin)

	_, err := ExecInput(noInput{}, nil, "kubectl")
	require.Error(t, err, "a Context without input is an error, not a run without it")
}

type noInput struct{}

func (noInput) Exec(string, ...string) (*ExecResult, error) { return nil, errors.New("unused") }
func (noInput) Logger() *Logger                             { return NewLogger(func(Level, string) {}) }
