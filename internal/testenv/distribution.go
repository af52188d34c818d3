package testenv

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Distribution runs Debian's docker-registry (CNCF Distribution 2.8) on 127.0.0.1 with a
// notification endpoint that posts to notifyURL with "Authorization: Bearer <token>".
// It returns the registry's host:port. Without the binary the test skips, or fails
// when CI=true.
func Distribution(t testing.TB, notifyURL, token string) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		Missing(t, "docker-registry is not installed (apt-get install docker-registry)")
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf(`version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: %s }
  delete: { enabled: true }
http: { addr: %s }
notifications:
  endpoints:
    - name: hoist
      url: %s
      headers: { Authorization: [Bearer %s] }
      timeout: 1s
      threshold: 5
      backoff: 1s
`, filepath.Join(dir, "data"), addr, notifyURL, token)
	path := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", path)
	logf, _ := os.Create(filepath.Join(dir, "registry.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start docker-registry: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Logf("docker-registry log:\n%s", b)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			return addr
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("docker-registry did not start on %s", addr)
	return ""
}
