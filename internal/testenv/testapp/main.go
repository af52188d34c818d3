// Command testapp is the tiny static program hoist's tests build into images. Its -mode
// decides how it misbehaves: healthy, crash (exits at start), unhealthy (its health
// endpoint fails), latecrash (healthy, then exits after -crash-after), lateunhealthy
// (healthy, then its health endpoint fails after -crash-after, the process running on).
// With -crash-on=VAR=value the late modes misbehave only where the environment variable
// VAR has that value (a Swarm service sets it per node with a template such as
// {{.Node.Hostname}}); elsewhere the program stays healthy.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	mode := flag.String("mode", "healthy", "healthy | crash | unhealthy | latecrash | lateunhealthy")
	listen := flag.String("listen", ":8080", "HTTP address")
	check := flag.Bool("check", false, "health-check the running instance and exit 0 or 1")
	crashAfter := flag.Duration("crash-after", 8*time.Second, "latecrash: exit after this long; lateunhealthy: fail /healthz after this long")
	crashOn := flag.String("crash-on", "", "VAR=value: the late modes misbehave only where env VAR has this value")
	flag.Parse()
	if k, v, ok := strings.Cut(*crashOn, "="); ok && os.Getenv(k) != v && strings.HasPrefix(*mode, "late") {
		*mode = "healthy"
	}

	if *check {
		ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1"+*listen+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			os.Exit(1)
		}
		os.Exit(0)
	}

	switch *mode {
	case "crash":
		time.Sleep(300 * time.Millisecond)
		fmt.Fprintln(os.Stderr, "testapp: crashing at start as asked")
		os.Exit(3)
	case "latecrash":
		go func() {
			time.Sleep(*crashAfter)
			fmt.Fprintln(os.Stderr, "testapp: crashing late as asked")
			os.Exit(4)
		}()
	}

	started := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if *mode == "unhealthy" || (*mode == "lateunhealthy" && time.Since(started) > *crashAfter) {
			http.Error(w, "unhealthy as asked", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, os.Getenv("APP_VERSION"))
	})
	// /file?path=/data/x reads a file; POST with ?data=… writes it (volume tests).
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		p := filepath.Clean(r.URL.Query().Get("path"))
		if r.Method == http.MethodPost {
			if err := os.WriteFile(p, []byte(r.URL.Query().Get("data")), 0o644); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
			return
		}
		b, err := os.ReadFile(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(b)
	})
	fmt.Fprintf(os.Stderr, "testapp %s (%s) listening on %s\n", os.Getenv("APP_VERSION"), *mode, *listen)
	if err := http.ListenAndServe(*listen, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
