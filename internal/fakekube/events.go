package fakekube

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Core/v1 Events: the one kind the server also accepts writes of, so a
// reporter's `kubectl create -f -` runs for real. Created Events are kept
// (Events returns them) and listed with the field selectors `kubectl get
// events --field-selector` and `kubectl describe` send. Faults with
// Resource "events" (or "") apply to them like to any resource.

// eventsResource is the core/v1 resource the captured discovery documents
// lack (they list only namespaces).
var eventsResource = map[string]any{
	"name": "events", "singularName": "event", "namespaced": true, "kind": "Event",
	"verbs":      []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"},
	"shortNames": []string{"ev"},
}

// addCoreEvents advertises events in /api/v1.
func (s *Server) addCoreEvents() error {
	list := map[string]any{"kind": "APIResourceList", "groupVersion": "v1"}
	if b, ok := s.discovery["/api/v1"]; ok {
		if err := json.Unmarshal(b, &list); err != nil {
			return fmt.Errorf("fakekube: api_v1.json: %w", err)
		}
	}
	res, _ := list["resources"].([]any)
	list["resources"] = append(res, eventsResource)
	b, err := json.Marshal(list)
	if err != nil {
		return err
	}
	s.discovery["/api/v1"] = b
	if _, ok := s.discovery["/api"]; !ok {
		s.discovery["/api"] = []byte(`{"kind":"APIVersions","versions":["v1"]}`)
	}
	return nil
}

// Events returns every Event created so far, in creation order, as the
// server stored them (the client's body plus uid, resourceVersion and
// creationTimestamp).
func (s *Server) Events() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]json.RawMessage, len(s.events))
	for i, e := range s.events {
		out[i] = append(json.RawMessage(nil), e.raw...)
	}
	return out
}

type storedEvent struct {
	namespace, name string
	fields          map[string]string // for field selectors
	raw             json.RawMessage
}

// handleCore answers /api/v1/[namespaces/NS/]events[/NAME].
func (s *Server) handleCore(w http.ResponseWriter, r *http.Request, rec *Request) int {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")[2:] // drop api, v1
	ns, name := "", ""
	if len(parts) >= 3 && parts[0] == "namespaces" {
		ns, parts = parts[1], parts[2:]
	}
	if len(parts) == 0 || len(parts) > 2 || parts[0] != "events" {
		return writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
	}
	if len(parts) == 2 {
		name = parts[1]
	}
	rec.Resource, rec.Namespace, rec.Name = "events", ns, name
	req := resourceRequest{gvr: gvr{version: "v1", resource: "events"}, namespace: ns, name: name}
	if f, ok := s.faultFor(req); ok {
		switch {
		case f.Status == http.StatusForbidden && f.Body == nil:
			verb := map[bool]string{true: "create", false: "list"}[r.Method == http.MethodPost]
			return writeStatus(w, f.Status, "Forbidden", fmt.Sprintf(
				"events is forbidden: User \"system:serviceaccount:default:fence-recorder\" cannot %s resource \"events\" in API group \"\" in the namespace %q", verb, ns),
				map[string]any{"kind": "events"})
		case f.Status != 0 || f.Hang || f.Garbage:
			return s.applyFault(w, r, f, req)
		case f.Delay > 0:
			select { // a slow server that then works
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return 0
			case <-s.done:
				return 0
			}
		}
	}
	switch {
	case r.Method == http.MethodPost && ns != "" && name == "":
		return s.createEvent(w, r, ns)
	case r.Method == http.MethodGet && name != "":
		return s.getEvent(w, ns, name)
	case r.Method == http.MethodGet:
		return s.listEvents(w, ns, r.URL.Query().Get("fieldSelector"))
	}
	return writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the fake API server only creates, gets and lists events", nil)
}

func (s *Server) createEvent(w http.ResponseWriter, r *http.Request, ns string) int {
	body, err := io.ReadAll(io.LimitReader(r.Body, 3<<20))
	if err != nil {
		return writeStatus(w, http.StatusBadRequest, "BadRequest", err.Error(), nil)
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		return writeStatus(w, http.StatusBadRequest, "BadRequest", "the body is not a JSON object: "+err.Error(), nil)
	}
	meta, _ := ev["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if meta == nil || name == "" {
		return writeStatus(w, http.StatusUnprocessableEntity, "Invalid", "Event is invalid: metadata.name: Required value", nil)
	}
	if mns, _ := meta["namespace"].(string); mns != "" && mns != ns {
		return writeStatus(w, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("the namespace of the provided object (%s) does not match the namespace sent on the request (%s)", mns, ns), nil)
	}
	involved, _ := ev["involvedObject"].(map[string]any)
	if involved == nil {
		return writeStatus(w, http.StatusUnprocessableEntity, "Invalid", "Event is invalid: involvedObject: Required value", nil)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if e.namespace == ns && e.name == name {
			return writeStatus(w, http.StatusConflict, "AlreadyExists", fmt.Sprintf("events %q already exists", name),
				map[string]any{"name": name, "kind": "events"})
		}
	}
	s.eventSeq++
	meta["namespace"] = ns
	meta["uid"] = fmt.Sprintf("00000000-0000-4000-8000-%012d", s.eventSeq)
	meta["resourceVersion"] = strconv.Itoa(4200000 + s.eventSeq)
	meta["creationTimestamp"] = time.Now().UTC().Format(time.RFC3339)
	raw, err := json.Marshal(ev)
	if err != nil {
		return writeStatus(w, http.StatusInternalServerError, "InternalError", err.Error(), nil)
	}
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	fields := map[string]string{
		"metadata.name": name, "metadata.namespace": ns,
		"reason": str(ev, "reason"), "type": str(ev, "type"),
		"involvedObject.kind": str(involved, "kind"), "involvedObject.name": str(involved, "name"),
		"involvedObject.namespace": str(involved, "namespace"), "involvedObject.uid": str(involved, "uid"),
		"involvedObject.apiVersion": str(involved, "apiVersion"),
	}
	s.events = append(s.events, storedEvent{namespace: ns, name: name, fields: fields, raw: raw})
	return writeJSON(w, http.StatusCreated, raw)
}

func (s *Server) getEvent(w http.ResponseWriter, ns, name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if e.namespace == ns && e.name == name {
			return writeJSON(w, http.StatusOK, e.raw)
		}
	}
	return writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("events %q not found", name),
		map[string]any{"name": name, "kind": "events"})
}

// listEvents filters by namespace and a field selector of `k=v`, `k==v`
// and `k!=v` terms joined by commas, the grammar a real server accepts.
func (s *Server) listEvents(w http.ResponseWriter, ns, fieldSelector string) int {
	type term struct {
		key, value string
		not        bool
	}
	var terms []term
	for _, part := range strings.Split(fieldSelector, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		t := term{}
		switch {
		case strings.Contains(part, "!="):
			t.key, t.value, _ = strings.Cut(part, "!=")
			t.not = true
		case strings.Contains(part, "=="):
			t.key, t.value, _ = strings.Cut(part, "==")
		case strings.Contains(part, "="):
			t.key, t.value, _ = strings.Cut(part, "=")
		default:
			return writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("invalid field selector: %q", part), nil)
		}
		terms = append(terms, t)
	}
	s.mu.Lock()
	var matched []storedEvent
	for _, e := range s.events {
		if ns != "" && e.namespace != ns {
			continue
		}
		ok := true
		for _, t := range terms {
			v, known := e.fields[t.key]
			if !known {
				s.mu.Unlock()
				return writeStatus(w, http.StatusBadRequest, "BadRequest",
					fmt.Sprintf("field label not supported: %s", t.key), nil)
			}
			if (v == t.value) == t.not {
				ok = false
			}
		}
		if ok {
			matched = append(matched, e)
		}
	}
	s.mu.Unlock()
	sort.SliceStable(matched, func(i, j int) bool { return matched[i].namespace < matched[j].namespace })
	items := make([]json.RawMessage, len(matched))
	for i, e := range matched {
		items[i] = e.raw
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "EventList",
		"metadata": map[string]any{"resourceVersion": "4200000"}, "items": items})
	if err != nil {
		return writeStatus(w, http.StatusInternalServerError, "InternalError", err.Error(), nil)
	}
	return writeJSON(w, http.StatusOK, b)
}

// RefusingURL returns an https URL on the loopback interface where nothing
// listens: a client gets a real "connection refused", as from an API server
// that is down.
func RefusingURL() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", err
	}
	return "https://" + addr, nil
}
