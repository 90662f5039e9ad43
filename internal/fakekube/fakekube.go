// Package fakekube is a loopback Kubernetes API server, just big enough for
// the real kubectl binary to run `get` against it. It serves the discovery
// documents that kubectl needs (captured from a working session in
// testdata/nnf/apiserver) and lists/gets of objects loaded from `kubectl get
// -o json` output files, so tests exercise the real client end to end
// instead of a mock of it.
//
// It also records every request (tests assert how many list calls a strategy
// made) and injects faults (403, 500, hangs, garbage and truncated bodies,
// unknown API versions) the way a real API server would present them.
//
// It listens on 127.0.0.1 only, over HTTPS with a self-signed certificate by
// default: kubectl does not send a bearer token over plain HTTP, and the
// server insists on its token so a test proves its kubeconfig was used.
//
//	s, err := fakekube.Start(fakekube.Options{}) // the public NNF example system
//	defer s.Close()
//	kc, err := s.WriteKubeconfig(t.TempDir())    // KUBECONFIG / --kubeconfig for kubectl
//	s.Inject(fakekube.Fault{Resource: "clientmounts", Status: 403})
//	n := len(s.ResourceRequests())               // list/get calls kubectl made
package fakekube

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultToken is the bearer token the server demands unless Options.Token
// says otherwise. Requiring it proves a client really used our kubeconfig.
const DefaultToken = "fakekube-token"

// Options configures a Server.
type Options struct {
	// DiscoveryDir holds the discovery documents: apis.json,
	// apis_<group>_<version>.json, and optionally version.json, api.json,
	// api_v1.json. Default: <repo>/testdata/nnf/apiserver.
	DiscoveryDir string
	// Fixtures are `kubectl get -o json` output files (a List of items) whose
	// items the server serves. Default: DefaultFixtures().
	Fixtures []string
	// NoFixtures starts the server with no objects (AddList adds some).
	NoFixtures bool
	// ServeVersions replaces, per group, every served version by this one
	// version name: /apis advertises only it, its APIResourceList is the
	// preferred version's with the new groupVersion, and items of the group
	// are served with their apiVersion rewritten. It simulates a cluster
	// upgraded to an API version a client does not know.
	ServeVersions map[string]string
	// OmitGroups are API groups the server does not serve at all (the CRDs
	// are not installed).
	OmitGroups []string
	// Token is the bearer token required on API requests; "" = DefaultToken.
	Token string
	// PlainHTTP serves http:// instead of https:// and then demands no
	// token: kubectl does not send a bearer token over plain HTTP.
	PlainHTTP bool
}

// Request is one request the server received.
type Request struct {
	Method    string
	Path      string
	Query     string
	UserAgent string
	// Resource is the plural resource of a list or get ("" for discovery).
	Resource  string
	Namespace string // "" for cluster-wide lists and discovery
	Name      string // set for a get of one object
	Status    int    // status code the server answered with
}

// IsResource reports whether the request read objects (list or get) rather
// than discovery documents.
func (r Request) IsResource() bool { return r.Resource != "" }

// Fault makes matching resource requests fail. Discovery requests are never
// affected, so kubectl gets as far as the real request, like a real RBAC
// denial or a broken aggregated API would let it.
type Fault struct {
	Resource  string // plural; "" matches every resource request
	Namespace string // "" matches every namespace
	// What the server does:
	Status int    // reply with this status (e.g. 403, 500) and Body
	Body   []byte // body for Status; "" = a Kubernetes Status object
	Hang   bool   // never answer; returns when the client goes away or the server closes
	// Delay answers normally (or with the other fault fields) after this
	// long, for budget and timeout tests that need a slow but working server.
	Delay      time.Duration
	Garbage    bool // 200 with a body that is not JSON
	TruncateAt int  // 200 with the real answer cut after this many bytes (> 0)
}

// Server is a running fake API server.
type Server struct {
	opts  Options
	token string
	http  *httptest.Server
	done  chan struct{}

	mu        sync.Mutex
	discovery map[string][]byte     // path -> body
	resources map[gvr]resourceInfo  // served list paths
	kinds     map[groupKind]string  // group/kind -> plural, for items
	objects   map[objectKey]*object // everything served
	requests  []Request
	faults    []Fault
	events    []storedEvent // created through POST (events.go)
	eventSeq  int
}

type gvr struct{ group, version, resource string }

type groupKind struct{ group, kind string }

type resourceInfo struct {
	kind       string
	namespaced bool
}

type objectKey struct {
	group, kind, namespace, name string
}

type object struct {
	apiVersion string
	kind       string
	namespace  string
	name       string
	labels     map[string]string
	raw        json.RawMessage
}

// RepoTestdata returns <repo>/testdata/nnf, located from this source file.
// FAKEKUBE_TESTDATA overrides it (for binaries built with -trimpath).
func RepoTestdata() string {
	if d := os.Getenv("FAKEKUBE_TESTDATA"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("testdata", "nnf")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "nnf")
}

// DefaultFixtures lists the fixture files of the public example system: every
// object kind once (the per-namespace files under fixtures/ are subsets).
func DefaultFixtures() []string {
	dir := filepath.Join(RepoTestdata(), "fixtures")
	names := []string{"clientmounts-all.json", "computes.json", "nnfaccesses.json",
		"nnfnodeblockstorages.json", "nnfnodestorages.json", "nnfstorages.json",
		"persistentstorageinstances.json", "storages.json", "systemconfigurations.json", "workflows.json"}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n)
	}
	return out
}

// Start loads the discovery documents and fixtures and starts serving on
// 127.0.0.1. Close it when done.
func Start(opts Options) (*Server, error) {
	if opts.DiscoveryDir == "" {
		opts.DiscoveryDir = filepath.Join(RepoTestdata(), "apiserver")
	}
	if opts.Fixtures == nil && !opts.NoFixtures {
		opts.Fixtures = DefaultFixtures()
	}
	s := &Server{
		opts:      opts,
		token:     opts.Token,
		done:      make(chan struct{}),
		discovery: map[string][]byte{},
		resources: map[gvr]resourceInfo{},
		kinds:     map[groupKind]string{},
		objects:   map[objectKey]*object{},
	}
	if s.token == "" {
		s.token = DefaultToken
	}
	if err := s.loadDiscovery(); err != nil {
		return nil, err
	}
	if err := s.addCoreEvents(); err != nil {
		return nil, err
	}
	for _, f := range opts.Fixtures {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("fakekube: fixture: %w", err)
		}
		if err := s.AddList(data); err != nil {
			return nil, fmt.Errorf("fakekube: fixture %s: %w", f, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakekube: listen on loopback: %w", err)
	}
	s.http = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.http.Listener.Close()
	s.http.Listener = ln
	if opts.PlainHTTP {
		s.http.Start()
	} else {
		s.http.StartTLS()
	}
	return s, nil
}

// CACertPEM is the PEM of the self-signed certificate the server presents
// (nil with PlainHTTP). It is valid for 127.0.0.1.
func (s *Server) CACertPEM() []byte {
	c := s.http.Certificate()
	if c == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// URL is the server's base URL, https://127.0.0.1:PORT (http:// with
// PlainHTTP).
func (s *Server) URL() string { return s.http.URL }

// Token is the bearer token the server accepts.
func (s *Server) Token() string { return s.token }

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.http.CloseClientConnections()
	s.http.Close()
}

// Inject adds a fault; later faults win over earlier ones.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResourceRequests returns the list and get requests (no discovery).
func (s *Server) ResourceRequests() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.IsResource() {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// AddList adds (or replaces, by group/kind/namespace/name) the items of a
// `kubectl get -o json` List or of a single object document.
func (s *Server) AddList(data []byte) error {
	var doc struct {
		Kind  string            `json:"kind"`
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	items := doc.Items
	if !strings.HasSuffix(doc.Kind, "List") {
		items = []json.RawMessage{data}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, raw := range items {
		o, err := parseObject(raw)
		if err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
		group, _ := splitAPIVersion(o.apiVersion)
		s.objects[objectKey{group, o.kind, o.namespace, o.name}] = o
	}
	return nil
}

// Delete removes one object; it reports whether it existed.
func (s *Server) Delete(group, kind, namespace, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := objectKey{group, kind, namespace, name}
	_, ok := s.objects[k]
	delete(s.objects, k)
	return ok
}

func parseObject(raw json.RawMessage) (*object, error) {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string            `json:"name"`
			Namespace string            `json:"namespace"`
			Labels    map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, err
	}
	if meta.APIVersion == "" || meta.Kind == "" || meta.Metadata.Name == "" {
		return nil, errors.New("object needs apiVersion, kind and metadata.name")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, err
	}
	return &object{apiVersion: meta.APIVersion, kind: meta.Kind, namespace: meta.Metadata.Namespace,
		name: meta.Metadata.Name, labels: meta.Metadata.Labels, raw: compact.Bytes()}, nil
}

func splitAPIVersion(av string) (group, version string) {
	if i := strings.LastIndexByte(av, '/'); i >= 0 {
		return av[:i], av[i+1:]
	}
	return "", av
}

// loadDiscovery reads the documents and derives the served resources from
// them, applying ServeVersions and OmitGroups.
func (s *Server) loadDiscovery() error {
	dir := s.opts.DiscoveryDir
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	for name, path := range map[string]string{"version.json": "/version", "api.json": "/api", "api_v1.json": "/api/v1"} {
		if b, err := read(name); err == nil {
			s.discovery[path] = b
		}
	}
	apis, err := read("apis.json")
	if err != nil {
		return fmt.Errorf("fakekube: discovery: %w", err)
	}
	var groupList struct {
		Kind       string           `json:"kind"`
		APIVersion string           `json:"apiVersion"`
		Groups     []map[string]any `json:"groups"`
	}
	if err := json.Unmarshal(apis, &groupList); err != nil {
		return fmt.Errorf("fakekube: apis.json: %w", err)
	}
	omit := map[string]bool{}
	for _, g := range s.opts.OmitGroups {
		omit[g] = true
	}
	var groups []map[string]any
	for _, g := range groupList.Groups {
		name, _ := g["name"].(string)
		if omit[name] {
			continue
		}
		preferred := ""
		if p, ok := g["preferredVersion"].(map[string]any); ok {
			preferred, _ = p["version"].(string)
		}
		var versions []string
		if vs, ok := g["versions"].([]any); ok {
			for _, v := range vs {
				if m, ok := v.(map[string]any); ok {
					if ver, ok := m["version"].(string); ok {
						versions = append(versions, ver)
					}
				}
			}
		}
		if preferred == "" && len(versions) > 0 {
			preferred = versions[0]
		}
		if only, ok := s.opts.ServeVersions[name]; ok {
			// Serve the preferred version's resources under the new name.
			doc, err := read("apis_" + name + "_" + preferred + ".json")
			if err != nil {
				return fmt.Errorf("fakekube: discovery for %s/%s: %w", name, preferred, err)
			}
			if err := s.addResourceList(name, only, doc); err != nil {
				return err
			}
			gv := map[string]any{"groupVersion": name + "/" + only, "version": only}
			g = map[string]any{"name": name, "versions": []any{gv}, "preferredVersion": gv}
		} else {
			for _, v := range versions {
				doc, err := read("apis_" + name + "_" + v + ".json")
				if err != nil {
					return fmt.Errorf("fakekube: discovery for %s/%s: %w", name, v, err)
				}
				if err := s.addResourceList(name, v, doc); err != nil {
					return err
				}
			}
		}
		groups = append(groups, g)
	}
	groupList.Groups = groups
	if groupList.Kind == "" {
		groupList.Kind = "APIGroupList"
	}
	b, err := json.Marshal(groupList)
	if err != nil {
		return err
	}
	s.discovery["/apis"] = b
	return nil
}

func (s *Server) addResourceList(group, version string, doc []byte) error {
	var list map[string]any
	if err := json.Unmarshal(doc, &list); err != nil {
		return fmt.Errorf("fakekube: discovery for %s/%s: %w", group, version, err)
	}
	list["groupVersion"] = group + "/" + version
	res, _ := list["resources"].([]any)
	for _, r := range res {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["name"].(string)
		kind, _ := m["kind"].(string)
		namespaced, _ := m["namespaced"].(bool)
		if name == "" || kind == "" || strings.Contains(name, "/") {
			continue // subresources are not listed
		}
		s.resources[gvr{group, version, name}] = resourceInfo{kind: kind, namespaced: namespaced}
		s.kinds[groupKind{group, kind}] = name
	}
	b, err := json.Marshal(list)
	if err != nil {
		return err
	}
	s.discovery["/apis/"+group+"/"+version] = b
	return nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, UserAgent: r.UserAgent()}
	status := s.handle(w, r, &rec)
	rec.Status = status
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

// handle answers one request and returns the status it sent.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, rec *Request) int {
	// The kubectl dispatcher asks /version before it has read credentials
	// the same way; a real server answers /version to anyone too.
	if !s.opts.PlainHTTP && r.URL.Path != "/version" && r.Header.Get("Authorization") != "Bearer "+s.token {
		return writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized", nil)
	}
	s.mu.Lock()
	body, isDiscovery := s.discovery[r.URL.Path]
	s.mu.Unlock()
	if !isDiscovery && strings.HasPrefix(r.URL.Path, "/api/v1/") {
		return s.handleCore(w, r, rec) // events, the one kind it accepts writes of
	}
	if r.Method != http.MethodGet {
		return writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed",
			"the fake API server is read-only", nil)
	}
	if isDiscovery {
		return writeJSON(w, http.StatusOK, body)
	}
	req, ok := s.parseResourcePath(r.URL.Path)
	if !ok {
		return writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
	}
	rec.Resource, rec.Namespace, rec.Name = req.resource, req.namespace, req.name
	if f, ok := s.faultFor(req); ok {
		return s.applyFault(w, r, f, req)
	}
	body, status, err := s.answer(req, r.URL.Query().Get("labelSelector"))
	if err != nil {
		return writeStatus(w, status, reasonFor(status), err.Error(), nil)
	}
	return writeJSON(w, status, body)
}

type resourceRequest struct {
	gvr
	info      resourceInfo
	namespace string
	name      string
}

// parseResourcePath recognizes /apis/G/V/[namespaces/NS/]PLURAL[/NAME].
func (s *Server) parseResourcePath(path string) (resourceRequest, bool) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 4 || parts[0] != "apis" {
		return resourceRequest{}, false
	}
	req := resourceRequest{gvr: gvr{group: parts[1], version: parts[2]}}
	rest := parts[3:]
	if rest[0] == "namespaces" && len(rest) >= 3 {
		req.namespace, rest = rest[1], rest[2:]
	}
	switch len(rest) {
	case 1:
		req.resource = rest[0]
	case 2:
		req.resource, req.name = rest[0], rest[1]
	default:
		return resourceRequest{}, false
	}
	s.mu.Lock()
	info, ok := s.resources[req.gvr]
	s.mu.Unlock()
	if !ok || (req.name != "" && req.namespace == "" && info.namespaced) {
		return resourceRequest{}, false
	}
	req.info = info
	return req, true
}

func (s *Server) faultFor(req resourceRequest) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.faults) - 1; i >= 0; i-- {
		f := s.faults[i]
		if (f.Resource == "" || f.Resource == req.resource) && (f.Namespace == "" || f.Namespace == req.namespace) {
			return f, true
		}
	}
	return Fault{}, false
}

func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault, req resourceRequest) int {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return 0
		case <-s.done:
			return 0
		}
	}
	switch {
	case f.Hang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return 0
	case f.Garbage:
		return writeJSON(w, http.StatusOK, []byte("<html><body>502 Bad Gateway</body></html>\n"))
	case f.TruncateAt > 0:
		body, _, err := s.answer(req, "")
		if err != nil {
			return writeStatus(w, http.StatusInternalServerError, "InternalError", err.Error(), nil)
		}
		if f.TruncateAt < len(body) {
			body = body[:f.TruncateAt]
		}
		return writeJSON(w, http.StatusOK, body)
	case f.Status != 0:
		if f.Body != nil {
			return writeJSON(w, f.Status, f.Body)
		}
		verb := "list"
		if req.name != "" {
			verb = "get"
		}
		msg := "Internal error occurred: injected failure"
		if f.Status == http.StatusForbidden {
			msg = fmt.Sprintf("%s.%s is forbidden: User \"system:serviceaccount:default:fence-recorder\" cannot %s resource %q in API group %q",
				req.resource, req.group, verb, req.resource, req.group)
			if req.namespace != "" {
				msg += fmt.Sprintf(" in the namespace %q", req.namespace)
			} else {
				msg += " at the cluster scope"
			}
		}
		return writeStatus(w, f.Status, reasonFor(f.Status), msg,
			map[string]any{"group": req.group, "kind": req.resource, "name": req.name})
	}
	body, status, err := s.answer(req, r.URL.Query().Get("labelSelector"))
	if err != nil {
		return writeStatus(w, status, reasonFor(status), err.Error(), nil)
	}
	return writeJSON(w, status, body) // a pure delay
}

// answer builds the list (or the one object) for req.
func (s *Server) answer(req resourceRequest, selector string) ([]byte, int, error) {
	sel, err := parseSelector(selector)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	s.mu.Lock()
	var matched []*object
	for k, o := range s.objects {
		if k.group != req.group || k.kind != req.info.kind {
			continue
		}
		if req.namespace != "" && k.namespace != req.namespace {
			continue
		}
		if req.name != "" && k.name != req.name {
			continue
		}
		if !sel.matches(o.labels) {
			continue
		}
		matched = append(matched, o)
	}
	s.mu.Unlock()
	// A real server lists in etcd key order: namespace, then name.
	sort.Slice(matched, func(i, j int) bool {
		if matched[i].namespace != matched[j].namespace {
			return matched[i].namespace < matched[j].namespace
		}
		return matched[i].name < matched[j].name
	})
	rewrite := ""
	if v, ok := s.opts.ServeVersions[req.group]; ok {
		rewrite = req.group + "/" + v
	}
	item := func(o *object) ([]byte, error) {
		if rewrite == "" {
			return o.raw, nil
		}
		var m map[string]any
		if err := json.Unmarshal(o.raw, &m); err != nil {
			return nil, err
		}
		m["apiVersion"] = rewrite
		return json.Marshal(m)
	}
	if req.name != "" {
		if len(matched) == 0 {
			return nil, http.StatusNotFound, fmt.Errorf("%s.%s %q not found", req.resource, req.group, req.name)
		}
		b, err := item(matched[0])
		if err != nil {
			return nil, http.StatusInternalServerError, err
		}
		return b, http.StatusOK, nil
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"apiVersion":%q,"kind":%q,"metadata":{"resourceVersion":"4200000","continue":""},"items":[`,
		req.group+"/"+req.version, req.info.kind+"List")
	for i, o := range matched {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := item(o)
		if err != nil {
			return nil, http.StatusInternalServerError, err
		}
		buf.Write(b)
	}
	buf.WriteString("]}")
	return buf.Bytes(), http.StatusOK, nil
}

func writeJSON(w http.ResponseWriter, status int, body []byte) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status
}

// writeStatus answers with a metav1.Status like a real API server, which is
// what kubectl turns into "Error from server (Reason): message".
func writeStatus(w http.ResponseWriter, code int, reason, msg string, details map[string]any) int {
	st := map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code}
	if details != nil {
		st["details"] = details
	}
	b, _ := json.Marshal(st)
	return writeJSON(w, code, b)
}

func reasonFor(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "BadRequest"
	case http.StatusUnauthorized:
		return "Unauthorized"
	case http.StatusForbidden:
		return "Forbidden"
	case http.StatusNotFound:
		return "NotFound"
	case http.StatusTooManyRequests:
		return "TooManyRequests"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable"
	case http.StatusGatewayTimeout:
		return "Timeout"
	}
	return "InternalError"
}
