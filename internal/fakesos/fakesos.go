// Package fakesos is a fence responder for tests that behaves as nnf-sos's
// node manager does on a rabbit: it watches the request directory (a scan of
// what is already there at start, then inotify Create events, dot files
// skipped), reads each request once, decodes it as five strings, and answers
// in the response directory under the request's basename, in either of the
// two shapes nnf-sos writes:
//
//   - R1, the block-storage path: a map marshalled with sorted keys and a
//     2-space indent, no trailing newline, published atomically as a dot temp
//     file renamed into place; the request is deleted after.
//   - R2, the no-storage path: the response struct marshalled compact in
//     field order with "status":"success", written in place (not atomic);
//     the request is deleted after.
//
// Like nnf-sos it reads a request at the moment its Create event arrives, so
// a request written in place is read empty, logged as undecodable and never
// answered; later Write events are ignored.
//
// Each answer can be delayed, say success or failure with any message, be
// written partially in place and completed after a pause, be withheld
// (silence), be written under another request's name, or leave its request
// behind. Stopping a Responder and starting another on the same directories
// is a node-manager restart: its startup scan answers what was left.
//
//	r := fakesos.StartT(t, fakesos.Config{RequestDir: req, ResponseDir: resp,
//		Behaviour: fakesos.Always(fakesos.Answer{Shape: fakesos.R1, Success: true})})
//	... run the agent ...
//	seen := r.Requests() // what it read, in order
//	sent := r.Responses() // what it wrote, in order
package fakesos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Shape is which of nnf-sos's two response writers an answer imitates.
type Shape int

const (
	// R1 is the block-storage path: sorted keys, indented, atomic rename.
	R1 Shape = iota
	// R2 is the no-storage path: compact, struct order, written in place.
	R2
)

func (s Shape) String() string {
	if s == R2 {
		return "R2"
	}
	return "R1"
}

// Messages nnf-sos writes (informational: only "success" decides a fence).
const (
	// MessageR2 is the only message of the no-storage path.
	MessageR2 = "No block storage resources found to fence"
	// ActionPerformed is what nnf-sos always reports doing.
	ActionPerformed = "off"
)

// MessageFenced is R1's message when every matched storage group was deleted.
func MessageFenced(groups int) string {
	return fmt.Sprintf("Successfully fenced node by deleting %d GFS2 storage groups", groups)
}

// Request is one request file the responder read.
type Request struct {
	// File is the request's basename; Path its full path.
	File string `json:"-"`
	Path string `json:"-"`
	// The five fields nnf-sos decodes, all strings.
	RequestID    string `json:"request_id"`
	Timestamp    string `json:"timestamp"`
	Action       string `json:"action"`
	TargetNode   string `json:"target_node"`
	RecorderNode string `json:"recorder_node"`
	// Raw is the file's content as read.
	Raw []byte `json:"-"`
	// Err is why the file could not be read or decoded; such a request is
	// skipped and left in place, as nnf-sos does.
	Err error `json:"-"`
	// SeenAt is when it was read; Scanned is true when the startup scan
	// found it rather than an inotify event.
	SeenAt  time.Time `json:"-"`
	Scanned bool      `json:"-"`
}

// Answer says how to respond to one request.
type Answer struct {
	Shape   Shape
	Success bool
	// Message defaults to MessageR2 for R2 and MessageFenced(1) (or a
	// failure text when !Success) for R1.
	Message string
	// Delay is how long nnf-sos "works" before writing the answer.
	Delay time.Duration
	// Partial writes the answer in place (whatever the shape): the file is
	// created with the first half of its bytes and completed after this
	// pause, so a reader in between sees an invalid, truncated JSON.
	Partial time.Duration
	// Silent writes no answer and leaves the request in place, as a node
	// manager that is down or stuck does.
	Silent bool
	// As answers under this basename instead of the request's: a response
	// meant for another request.
	As string
	// KeepRequest leaves the request in place after answering: nnf-sos
	// stopped between writing the response and deleting the request.
	KeepRequest bool
}

// Always answers every request the same way.
func Always(a Answer) func(Request) Answer {
	return func(Request) Answer { return a }
}

// PerTarget answers by the request's target_node, otherwise for the rest.
func PerTarget(byTarget map[string]Answer, otherwise Answer) func(Request) Answer {
	return func(r Request) Answer {
		if a, ok := byTarget[r.TargetNode]; ok {
			return a
		}
		return otherwise
	}
}

// Config configures a Responder.
type Config struct {
	RequestDir, ResponseDir string
	// Behaviour picks the answer for each decoded request; nil answers
	// every request with an R2 success, what nnf-sos does for a compute
	// with no GFS2 storage on this rabbit.
	Behaviour func(Request) Answer
	// Logf, when set, receives one line per thing the responder does.
	Logf func(format string, args ...any)
}

// Response is one answer the responder wrote.
type Response struct {
	Request Request
	Answer  Answer
	// File is the response's basename, Body its complete content.
	File string
	Body []byte
	// At is when the response became complete under its final name (the
	// rename for R1, the last write for R2 and Partial).
	At time.Time
	// Err is why writing it failed, if it did.
	Err error
}

// Responder is a running fake node manager.
type Responder struct {
	cfg     Config
	watcher *fsnotify.Watcher
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu        sync.Mutex
	requests  []Request
	responses []Response
}

// Start creates both directories (0755, as nnf-sos does), watches the
// request directory, handles what is already there (the startup scan), and
// answers until ctx ends or Stop is called.
func Start(ctx context.Context, cfg Config) (*Responder, error) {
	if cfg.RequestDir == "" || cfg.ResponseDir == "" {
		return nil, errors.New("fakesos: RequestDir and ResponseDir are required")
	}
	if cfg.Behaviour == nil {
		cfg.Behaviour = Always(Answer{Shape: R2, Success: true})
	}
	for _, d := range []string{cfg.RequestDir, cfg.ResponseDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("fakesos: %w", err)
		}
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("fakesos: %w", err)
	}
	// As nnf-sos: the watch is added before the startup scan, so nothing
	// published in between is missed.
	if err := w.Add(cfg.RequestDir); err != nil {
		w.Close()
		return nil, fmt.Errorf("fakesos: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Responder{cfg: cfg, watcher: w, cancel: cancel}
	// The scan runs before Start returns, so a test knows that whatever it
	// creates afterwards is seen through an event.
	r.scan(ctx)
	r.wg.Add(1)
	go r.watch(ctx)
	return r, nil
}

// StartT is Start for a test: it fails the test on error and stops the
// responder when the test ends.
func StartT(tb testing.TB, cfg Config) *Responder {
	tb.Helper()
	if cfg.Logf == nil {
		cfg.Logf = tb.Logf
	}
	r, err := Start(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.Stop)
	return r
}

// Stop ends the watch, abandons answers still waiting out their delay, and
// returns once nothing more will be written. It is safe to call twice.
func (r *Responder) Stop() {
	r.cancel()
	r.wg.Wait()
}

// Requests returns every request file read so far, in the order read.
func (r *Responder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Responses returns every response written so far, in the order completed.
func (r *Responder) Responses() []Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Response(nil), r.responses...)
}

func (r *Responder) logf(format string, args ...any) {
	if r.cfg.Logf != nil {
		r.cfg.Logf("fakesos: "+format, args...)
	}
}

func (r *Responder) scan(ctx context.Context) {
	if entries, err := os.ReadDir(r.cfg.RequestDir); err != nil {
		r.logf("startup scan: %v", err)
	} else {
		for _, e := range entries {
			// The startup scan takes any non-dot entry that is not a
			// directory; it does not insist on ".json".
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				r.process(ctx, filepath.Join(r.cfg.RequestDir, e.Name()), true)
			}
		}
	}
}

func (r *Responder) watch(ctx context.Context) {
	defer r.wg.Done()
	defer r.watcher.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-r.watcher.Events:
			if !ok {
				return
			}
			// Only Create (IN_CREATE or IN_MOVED_TO) counts; Write,
			// Chmod, Rename and Remove are ignored.
			if !ev.Has(fsnotify.Create) || strings.HasPrefix(filepath.Base(ev.Name), ".") {
				continue
			}
			r.process(ctx, ev.Name, false)
		case err, ok := <-r.watcher.Errors:
			if !ok {
				return
			}
			r.logf("watch: %v", err)
		}
	}
}

// process reads and decodes a request at once, as nnf-sos's event handler
// does, then answers it in the background so that a delay on one request
// does not hold up the others.
func (r *Responder) process(ctx context.Context, path string, scanned bool) {
	req := Request{File: filepath.Base(path), Path: path, SeenAt: time.Now(), Scanned: scanned}
	req.Raw, req.Err = os.ReadFile(path)
	if req.Err == nil {
		req.Err = json.Unmarshal(req.Raw, &req)
	}
	r.mu.Lock()
	r.requests = append(r.requests, req)
	r.mu.Unlock()
	if req.Err != nil {
		r.logf("skipping %s: %v", req.File, req.Err)
		return
	}
	a := r.cfg.Behaviour(req)
	r.logf("request %s target=%q action=%q: answering %s success=%v delay=%v partial=%v silent=%v as=%q",
		req.File, req.TargetNode, req.Action, a.Shape, a.Success, a.Delay, a.Partial, a.Silent, a.As)
	if a.Silent {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if !sleep(ctx, a.Delay) {
			return
		}
		resp := r.answer(ctx, req, a)
		r.mu.Lock()
		r.responses = append(r.responses, resp)
		r.mu.Unlock()
		if resp.Err != nil {
			// nnf-sos keeps the request when its response could not be
			// written.
			r.logf("answer %s: %v", resp.File, resp.Err)
			return
		}
		if a.KeepRequest {
			return
		}
		if err := os.Remove(req.Path); err != nil {
			r.logf("remove request %s: %v", req.File, err)
		}
	}()
}

func (r *Responder) answer(ctx context.Context, req Request, a Answer) Response {
	resp := Response{Request: req, Answer: a, File: req.File}
	if a.As != "" {
		resp.File = a.As
	}
	resp.Body, resp.Err = Body(req, a, time.Now())
	if resp.Err != nil {
		return resp
	}
	final := filepath.Join(r.cfg.ResponseDir, resp.File)
	switch {
	case a.Partial > 0:
		resp.Err = writePartial(ctx, final, resp.Body, a.Partial)
	case a.Shape == R2:
		resp.Err = os.WriteFile(final, resp.Body, 0o644)
	default:
		resp.Err = writeAtomic(r.cfg.ResponseDir, resp.File, resp.Body)
	}
	resp.At = time.Now()
	return resp
}

// Body is the exact content nnf-sos would write for req; now is R2's
// timestamp (R1 copies the request's).
func Body(req Request, a Answer, now time.Time) ([]byte, error) {
	msg := a.Message
	if a.Shape == R2 {
		if msg == "" {
			msg = MessageR2
		}
		status := "success"
		if !a.Success {
			// nnf-sos's R2 only ever says success; the response type
			// documents "error" for the other case.
			status = "error"
		}
		return json.Marshal(r2Response{
			RequestID:       req.RequestID,
			Status:          status,
			Success:         a.Success,
			Message:         msg,
			Timestamp:       now.Format(time.RFC3339),
			TargetNode:      req.TargetNode,
			Action:          req.Action,
			RecorderNode:    req.RecorderNode,
			ActionPerformed: ActionPerformed,
		})
	}
	if msg == "" {
		msg = MessageFenced(1)
		if !a.Success {
			msg = "Failed to fence node: could not delete any storage groups. Errors: fakesos"
		}
	}
	// A map, so encoding/json sorts the keys, as nnf-sos's R1 writer does.
	return json.MarshalIndent(map[string]any{
		"request_id":       req.RequestID,
		"timestamp":        req.Timestamp,
		"action":           req.Action,
		"target_node":      req.TargetNode,
		"recorder_node":    req.RecorderNode,
		"success":          a.Success,
		"message":          msg,
		"action_performed": ActionPerformed,
	}, "", "  ")
}

// r2Response has nnf-sos's response struct's field order and omissions.
type r2Response struct {
	RequestID       string `json:"request_id"`
	Status          string `json:"status,omitempty"`
	Success         bool   `json:"success"`
	Message         string `json:"message"`
	Timestamp       string `json:"timestamp"`
	TargetNode      string `json:"target_node"`
	Action          string `json:"action,omitempty"`
	RecorderNode    string `json:"recorder_node,omitempty"`
	ActionPerformed string `json:"action_performed,omitempty"`
}

// writeAtomic is R1's publication: ".<name>.tmp" in the same directory,
// renamed into place, removed if the rename fails. Like nnf-sos it does not
// fsync.
func writeAtomic(dir, name string, body []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// writePartial writes body in place in two halves with a pause between, the
// window a reader of nnf-sos's in-place R2 write can fall into.
func writePartial(ctx context.Context, path string, body []byte, pause time.Duration) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	half := len(body) / 2
	if _, err := f.Write(body[:half]); err != nil {
		return err
	}
	// Finish the file even when stopped, so no test leaves a torn file
	// behind by accident; only the pause is cut short.
	sleep(ctx, pause)
	if _, err := f.Write(body[half:]); err != nil {
		return err
	}
	return f.Close()
}

// sleep waits d or until ctx ends; it reports whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
