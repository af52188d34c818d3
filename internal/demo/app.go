package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Mode is how a version of the demo app behaves.
type Mode string

const (
	// Healthy answers, and its health check passes.
	Healthy Mode = "healthy"
	// CrashAfter is healthy at first, then exits with status 1 (after 8 s by default).
	CrashAfter Mode = "crash-after"
	// NeverHealthy answers, but its health check always fails.
	NeverHealthy Mode = "never-healthy"
)

// defaultAddrFile is where the app writes the address of its private health endpoint.
// The image's HEALTHCHECK reads it, so it asks this very process even when several
// replicas share one port on the host network.
const defaultAddrFile = "/tmp/hoist-demo-app.addr"

// RunApp is `hoist demo-app`: a tiny HTTP server answering / and /version with its
// version (env APP_VERSION) and /healthz by its mode, until ctx ends. With -check it
// asks the running instance's health endpoint instead and returns an error when it
// does not answer 200.
func RunApp(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo-app", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("mode", string(Healthy), "healthy | crash-after | never-healthy")
	listen := fs.String("listen", "", "address to answer on (default $DEMO_LISTEN, then :8080); the port may be shared (SO_REUSEPORT)")
	crash := fs.Duration("crash-after", 8*time.Second, "crash-after: exit this long after start")
	check := fs.Bool("check", false, "ask the running instance's health endpoint; exit 0 when it answers 200")
	addrFile := fs.String("addr-file", defaultAddrFile, "where the health endpoint's address is written")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *check {
		return checkHealth(ctx, *addrFile)
	}
	m := Mode(*mode)
	if m != Healthy && m != CrashAfter && m != NeverHealthy {
		return fmt.Errorf("demo-app: unknown mode %q: use healthy, crash-after or never-healthy", *mode)
	}
	addr := *listen
	if addr == "" {
		addr = getenv("DEMO_LISTEN")
	}
	if addr == "" {
		addr = ":8080"
	}
	return serveApp(ctx, m, addr, *crash, *addrFile, getenv("APP_VERSION"), stderr)
}

func serveApp(ctx context.Context, m Mode, addr string, crashAfter time.Duration, addrFile, version string, stderr io.Writer) error {
	lc := net.ListenConfig{Control: reusePort}
	pub, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("demo-app: %w", err)
	}
	priv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pub.Close()
		return fmt.Errorf("demo-app: %w", err)
	}
	if err := os.WriteFile(addrFile, []byte(priv.Addr().String()), 0o644); err != nil {
		pub.Close()
		priv.Close()
		return fmt.Errorf("demo-app: %w", err)
	}
	defer os.Remove(addrFile)

	healthz := func(w http.ResponseWriter, r *http.Request) {
		if m == NeverHealthy {
			http.Error(w, "never healthy, as this version was built to be", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	}
	hello := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hoist-demo %s\n", version)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", healthz)
	mux.HandleFunc("/version", hello)
	mux.HandleFunc("/{$}", hello)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	health := &http.Server{Handler: http.HandlerFunc(healthz), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(pub) }()
	go func() { errc <- health.Serve(priv) }()
	fmt.Fprintf(stderr, "hoist-demo %s (%s) answering on %s\n", version, m, pub.Addr())

	var crash <-chan time.Time
	if m == CrashAfter {
		crash = time.After(crashAfter)
	}
	var res error
	select {
	case <-ctx.Done():
	case <-crash:
		res = fmt.Errorf("hoist-demo %s crashed %s after start, as it was built to", version, crashAfter)
	case err := <-errc:
		res = fmt.Errorf("demo-app: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	health.Shutdown(sctx)
	return res
}

// checkHealth asks the health endpoint whose address the running instance wrote.
func checkHealth(ctx context.Context, addrFile string) error {
	b, err := os.ReadFile(addrFile)
	if err != nil {
		return fmt.Errorf("not started yet: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+strings.TrimSpace(string(b))+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return errors.New(strings.TrimSpace(resp.Status + ": " + string(body)))
	}
	return nil
}
