package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// Registry is go-containerregistry's in-process registry on a loopback port (the
// engine pulls from 127.0.0.0/8 over plain HTTP without any setting). Around it, what
// a real registry does and the demo narrates: after each push of a tag it notifies a
// webhook as Distribution does (in order, retried), and it notes who asked for what.
type Registry struct {
	// Host is "127.0.0.1:port".
	Host string
	srv  *http.Server

	mu     sync.Mutex
	hook   string // webhook URL; empty: nobody to tell
	token  string
	notes  []Note
	queue  chan pushed
	closed chan struct{}
	wg     sync.WaitGroup
}

// Note is one thing the registry saw or did.
type Note struct {
	At   time.Time
	Kind NoteKind
	Repo string
	Ref  string // tag or digest
	// Status is the webhook's answer (Notified) or the registry's (the others).
	Status int
	// Agent is the client's User-Agent.
	Agent string
}

// NoteKind says what a Note is about.
type NoteKind string

const (
	// Pushed: a manifest was put under a tag.
	Pushed NoteKind = "pushed"
	// Notified: the webhook was told of a push; Status is its answer (0: unreachable).
	Notified NoteKind = "notified"
	// TagAsked: someone asked for a tag's manifest (a digest check).
	TagAsked NoteKind = "tag-asked"
	// Pulled: a manifest was fetched by digest (an engine pulling a pinned image).
	Pulled NoteKind = "pulled"
)

type pushed struct {
	repo, tag, digest, mediaType string
	size                         int
	hook, token                  string // where to notify, as set when the push came
}

// StartRegistry serves a registry on a free port of 127.0.0.1.
func StartRegistry() (*Registry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	r := &Registry{Host: ln.Addr().String(), queue: make(chan pushed, 64), closed: make(chan struct{})}
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	r.srv = &http.Server{Handler: r.observe(h), ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	r.wg.Add(1)
	go r.deliver()
	return r, nil
}

// NotifyTo makes the registry tell url of every push from now on, with
// "Authorization: Bearer <token>", as a Distribution notification endpoint.
func (r *Registry) NotifyTo(url, token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hook, r.token = url, token
}

// Notes returns what the registry saw since the n-th note (0: everything).
func (r *Registry) Notes(n int) []Note {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n > len(r.notes) {
		n = len(r.notes)
	}
	return append([]Note(nil), r.notes[n:]...)
}

// Close stops the registry; its content is gone.
func (r *Registry) Close() error {
	close(r.closed)
	r.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return r.srv.Shutdown(ctx)
}

func (r *Registry) note(n Note) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, n)
}

// observe wraps the registry: it notes manifest requests and queues a notification
// for each manifest put under a tag.
func (r *Registry) observe(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		repo, ref, isManifest := manifestPath(req.URL.Path)
		if !isManifest {
			h.ServeHTTP(w, req)
			return
		}
		var body []byte
		if req.Method == http.MethodPut {
			body, _ = io.ReadAll(io.LimitReader(req.Body, 4<<20))
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, req)
		byDigest := strings.HasPrefix(ref, "sha256:")
		switch {
		case req.Method == http.MethodPut && !byDigest && sw.status < 300:
			sum := sha256.Sum256(body)
			r.note(Note{At: time.Now(), Kind: Pushed, Repo: repo, Ref: ref, Status: sw.status, Agent: req.UserAgent()})
			r.mu.Lock()
			hook, token := r.hook, r.token
			r.mu.Unlock()
			if hook == "" {
				break // nobody to tell of this push
			}
			select {
			case r.queue <- pushed{repo: repo, tag: ref, digest: "sha256:" + hex.EncodeToString(sum[:]), mediaType: req.Header.Get("Content-Type"), size: len(body), hook: hook, token: token}:
			default: // a full queue drops the hint; pollers exist for that
			}
		case (req.Method == http.MethodHead || req.Method == http.MethodGet) && !byDigest:
			r.note(Note{At: time.Now(), Kind: TagAsked, Repo: repo, Ref: ref, Status: sw.status, Agent: req.UserAgent()})
		case req.Method == http.MethodGet && byDigest:
			r.note(Note{At: time.Now(), Kind: Pulled, Repo: repo, Ref: ref, Status: sw.status, Agent: req.UserAgent()})
		}
	})
}

// manifestPath splits /v2/<repo>/manifests/<ref>.
func manifestPath(p string) (repo, ref string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, "/manifests/")
	if i <= 0 {
		return "", "", false
	}
	return rest[:i], rest[i+len("/manifests/"):], true
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// deliver posts queued pushes to the webhook one at a time, in order, retrying a
// delivery that fails a few times as Distribution's endpoint queue does.
func (r *Registry) deliver() {
	defer r.wg.Done()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		var p pushed
		select {
		case <-r.closed:
			return
		case p = <-r.queue:
		}
		hook, token := p.hook, p.token
		body := distributionEvent(r.Host, p)
		status := 0
		for try := 0; try < 5; try++ {
			req, _ := http.NewRequest(http.MethodPost, hook, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/vnd.docker.distribution.events.v1+json")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
				if status < 300 {
					break
				}
			}
			select {
			case <-r.closed:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
		r.note(Note{At: time.Now(), Kind: Notified, Repo: p.repo, Ref: p.tag, Status: status})
	}
}

// distributionEvent is the body Distribution 2.8 posts for a manifest pushed under a tag.
func distributionEvent(host string, p pushed) []byte {
	var id [8]byte
	sum := sha256.Sum256([]byte(fmt.Sprint(time.Now().UnixNano(), p.repo, p.tag)))
	copy(id[:], sum[:])
	type target struct {
		MediaType  string `json:"mediaType"`
		Size       int    `json:"size"`
		Digest     string `json:"digest"`
		Repository string `json:"repository"`
		URL        string `json:"url"`
		Tag        string `json:"tag"`
	}
	type request struct {
		ID        string `json:"id"`
		Addr      string `json:"addr"`
		Host      string `json:"host"`
		Method    string `json:"method"`
		UserAgent string `json:"useragent"`
	}
	type event struct {
		ID        string    `json:"id"`
		Timestamp time.Time `json:"timestamp"`
		Action    string    `json:"action"`
		Target    target    `json:"target"`
		Request   request   `json:"request"`
	}
	ev := event{
		ID: hex.EncodeToString(id[:]), Timestamp: time.Now().UTC(), Action: "push",
		Target: target{MediaType: p.mediaType, Size: p.size, Digest: p.digest, Repository: p.repo,
			URL: "http://" + host + "/v2/" + p.repo + "/manifests/" + p.digest, Tag: p.tag},
		Request: request{ID: hex.EncodeToString(id[4:]), Addr: "127.0.0.1", Host: host, Method: http.MethodPut, UserAgent: "hoist-demo"},
	}
	b, _ := json.Marshal(map[string][]event{"events": {ev}})
	return b
}
