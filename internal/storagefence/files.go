package storagefence

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const uuidLen = 36

// ParseName splits a request or response basename of this protocol,
// <target>-<uuid>.json, or a request temp name .<that>.tmp. The UUID has a
// fixed length, so the split is exact even though targets contain '-'.
func ParseName(name string) (target, id string, temp, ok bool) {
	if strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".json.tmp") {
		name, temp = strings.TrimSuffix(strings.TrimPrefix(name, "."), ".tmp"), true
	}
	stem, isJSON := strings.CutSuffix(name, ".json")
	if !isJSON || len(stem) < uuidLen+2 || stem[len(stem)-uuidLen-1] != '-' {
		return "", "", false, false
	}
	target, id = stem[:len(stem)-uuidLen-1], stem[len(stem)-uuidLen:]
	if !isUUID(id) || CheckTarget(target) != nil {
		return "", "", false, false
	}
	return target, id, temp, true
}

func isUUID(s string) bool {
	if len(s) != uuidLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f'):
			return false
		}
	}
	return true
}

// File is one protocol file found in a directory.
type File struct {
	Path   string
	Target string
	ID     string
	Temp   bool
	MTime  time.Time
}

// Age is how long ago the file was last written.
func (f File) Age(now time.Time) time.Duration { return now.Sub(f.MTime) }

// Requests lists the regular files of this protocol's naming in the request
// directory, oldest first. Anything else there is left alone: it belongs to
// someone else. A missing directory has no requests.
func Requests(dir string) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []File
	for _, e := range entries {
		target, id, temp, ok := ParseName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // gone since the listing: answered
		}
		out = append(out, File{Path: filepath.Join(dir, e.Name()), Target: target, ID: id, Temp: temp, MTime: fi.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MTime.Before(out[j].MTime) })
	return out, nil
}

// InFlight lists the requests for target still waiting for nnf-sos.
func InFlight(dir, target string) ([]File, error) {
	all, err := Requests(dir)
	var out []File
	for _, f := range all {
		if f.Target == target {
			out = append(out, f)
		}
	}
	return out, err
}

// Cleanup removes requests of this protocol's naming last written more than
// maxAge ago: what a killed agent left behind (a later nnf-sos start would
// otherwise fence its target again). maxAge is raised to minAge, the longest
// any agent may still be waiting, so a live request is never removed.
func Cleanup(dir string, maxAge, minAge time.Duration, now time.Time) (removed []string, err error) {
	if maxAge < minAge {
		maxAge = minAge
	}
	files, err := Requests(dir)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, f := range files {
		if f.Age(now) <= maxAge {
			continue
		}
		if err := os.Remove(f.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, f.Path)
	}
	return removed, errors.Join(errs...)
}

// Marker is a response that tells nnf-sos the target is fenced: nnf-sos
// keeps the compute's storage away while one exists.
type Marker struct {
	Node      string    `json:"node"`
	File      string    `json:"file"`
	Time      time.Time `json:"time"` // the file's mtime: when nnf-sos answered
	Message   string    `json:"message"`
	RequestID string    `json:"request_id,omitempty"`
	// Marker false: a failure response for the node (not a marker, but
	// part of its history and removed by unfence too).
	Marker bool `json:"marker"`
}

// Responses lists the *.json files in the response directory for node ("" =
// every node), decoded as nnf-sos decodes them when it looks for markers:
// by content (target_node), every *.json file (dot files too, as nnf-sos
// reads them). Files that do not decode are skipped, as nnf-sos skips them.
func Responses(dir, node string) ([]Marker, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Marker
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		m, ok := readMarker(path)
		if !ok || (node != "" && m.Node != node) {
			continue
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].Time.Before(out[j].Time)
	})
	return out, nil
}

// Markers lists the success markers for node ("" = every node).
func Markers(dir, node string) ([]Marker, error) {
	all, err := Responses(dir, node)
	var out []Marker
	for _, m := range all {
		if m.Marker {
			out = append(out, m)
		}
	}
	return out, err
}

func readMarker(path string) (Marker, bool) {
	f, err := os.Open(path)
	if err != nil {
		return Marker{}, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Marker{}, false
	}
	body, err := io.ReadAll(io.LimitReader(f, MaxResponseBytes+1))
	if err != nil || len(body) > MaxResponseBytes {
		return Marker{}, false
	}
	// success is a bool here, as nnf-sos decodes it: a file with any other
	// type fails nnf-sos's decoding and is no marker.
	var v struct {
		TargetNode string `json:"target_node"`
		Success    bool   `json:"success"`
		Status     string `json:"status"`
		Message    string `json:"message"`
		RequestID  string `json:"request_id"`
	}
	if json.Unmarshal(body, &v) != nil {
		return Marker{}, false
	}
	return Marker{Node: v.TargetNode, File: path, Time: fi.ModTime(), Message: v.Message, RequestID: v.RequestID,
		Marker: v.Success || v.Status == "success"}, true
}

// ErrInFlight: unfence refuses while a request for the node may still be
// answered (it would leave a fresh marker behind the removal).
var ErrInFlight = errors.New("a fence request for this node is still in flight")

// Unfence removes every response for node (markers and failure answers)
// with unlink, which nnf-sos sees as a Remove and reacts to by clearing the
// node's Fenced status; a rename out of the directory would not trigger it.
func Unfence(requestDir, responseDir, node string) (removed []Marker, err error) {
	if err := CheckTarget(node); err != nil {
		return nil, err
	}
	pending, err := InFlight(requestDir, node)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	if len(pending) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInFlight, pending[0].Path)
	}
	all, err := Responses(responseDir, node)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, m := range all {
		if err := os.Remove(m.File); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, m)
	}
	return removed, errors.Join(errs...)
}
