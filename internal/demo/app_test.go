package demo

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startApp runs the app until the test ends; it returns its health check and the
// channel RunApp's result arrives on.
func startApp(t *testing.T, addr, version string, args ...string) (check func() error, done chan error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan error, 1)
	env := func(k string) string { return map[string]string{"APP_VERSION": version}[k] }
	go func() {
		done <- RunApp(ctx, append([]string{"--listen", addr, "--addr-file", file}, args...), env, io.Discard)
	}()
	t.Cleanup(func() { cancel(); <-done })
	check = func() error {
		return RunApp(context.Background(), []string{"-check", "--addr-file", file}, env, io.Discard)
	}
	deadline := time.Now().Add(5 * time.Second)
	for get(addr) == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return check, done
}

func get(addr string) string {
	c := http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/version")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// Two replicas share one port (SO_REUSEPORT) and each health check asks its own
// process, so a replica that never gets healthy fails its check while the port answers.
func TestAppSharedPortAndOwnHealth(t *testing.T) {
	addr := freeAddr(t)
	good, _ := startApp(t, addr, "v1")
	bad, _ := startApp(t, addr, "v2", "--mode", "never-healthy")
	if err := good(); err != nil {
		t.Errorf("healthy replica's check: %v", err)
	}
	if err := bad(); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("never-healthy replica's check: %v, want a 500", err)
	}
	seen := map[string]bool{}
	for i := 0; i < 200 && len(seen) < 2; i++ {
		seen[get(addr)] = true
	}
	if !seen["hoist-demo v1"] || !seen["hoist-demo v2"] {
		t.Errorf("answers on the shared port: %v, want both versions", seen)
	}
}

func TestAppCrashAfter(t *testing.T) {
	_, done := startApp(t, freeAddr(t), "v3", "--mode", "crash-after", "--crash-after", "300ms")
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "crashed 300ms after start") {
			t.Fatalf("crash-after: %v", err)
		}
		done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("crash-after did not crash")
	}
}

func TestAppRefusesUnknownMode(t *testing.T) {
	err := RunApp(context.Background(), []string{"--mode", "flaky"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `unknown mode "flaky"`) {
		t.Fatalf("unknown mode: %v", err)
	}
}

func TestCheckWithoutApp(t *testing.T) {
	err := RunApp(context.Background(), []string{"-check", "--addr-file", filepath.Join(t.TempDir(), "none")}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not started yet") {
		t.Fatalf("check with no app: %v", err)
	}
}
