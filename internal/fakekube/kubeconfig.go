package fakekube

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
)

// ContextName is the kubeconfig context (and cluster and user) name that
// WriteKubeconfig uses.
const ContextName = "fakekube"

// WriteKubeconfig writes a kubeconfig at path (mode 0600) whose only context
// points at server with a bearer token, the way a site hands the agent a
// service-account kubeconfig. caPEM is the server's CA certificate for an
// https server (nil for http, where kubectl sends no token anyway).
func WriteKubeconfig(path, server, token string, caPEM []byte) error {
	ca := ""
	if len(caPEM) > 0 {
		ca = "\n    certificate-authority-data: " + base64.StdEncoding.EncodeToString(caPEM)
	}
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: %[2]s%[4]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[1]s
    namespace: default
current-context: %[1]s
users:
- name: %[1]s
  user:
    token: %[3]s
`, ContextName, server, token, ca)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(cfg), 0o600)
}

// WriteKubeconfig writes a kubeconfig for this server into dir and returns
// its path.
func (s *Server) WriteKubeconfig(dir string) (string, error) {
	path := filepath.Join(dir, "kubeconfig")
	return path, WriteKubeconfig(path, s.URL(), s.token, s.CACertPEM())
}
