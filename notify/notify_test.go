package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// sinkServer records what it is sent and answers with the statuses given, in turn
// (the last one repeats).
type sinkServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	types  []string
	got    chan struct{}
}

func newSinkServer(t *testing.T, statuses ...int) *sinkServer {
	s := &sinkServer{got: make(chan struct{}, 100)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.bodies)
		s.bodies = append(s.bodies, string(b))
		s.types = append(s.types, r.Header.Get("Content-Type"))
		s.mu.Unlock()
		code := statuses[min(n, len(statuses)-1)]
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(code)
		s.got <- struct{}{}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sinkServer) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.bodies...)
}

var event = Event{
	Workload: "service/web", From: "reg/web:1@sha256:" + strings.Repeat("a", 64), To: "reg/web:1@sha256:" + strings.Repeat("b", 64),
	Outcome: "rolled_back", Reason: "task abc exited (exit 3)", Trigger: "dockerhub",
	Started: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Ended: time.Date(2026, 11, 23, 10, 0, 17, 0, time.UTC),
}

func start(t *testing.T, sinks []Sink, logs io.Writer) (*Notifier, func()) {
	n := New(sinks, zerolog.New(logs), Options{Backoff: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	return n, func() { cancel(); <-done }
}

func TestSendJSONAndSlack(t *testing.T) {
	js, sl := newSinkServer(t, 200), newSinkServer(t, 200)
	n, stop := start(t, []Sink{{URL: js.URL + "/hook", Format: JSON{}}, {URL: sl.URL + "/services/T0/B0/secret", Format: Slack{}}}, io.Discard)
	n.Send(event)
	<-js.got
	<-sl.got
	stop()

	var got Event
	if err := json.Unmarshal([]byte(js.received()[0]), &got); err != nil || got != event || js.types[0] != "application/json" {
		t.Fatalf("json sink got %s (%v), want the event", js.received()[0], err)
	}
	var msg map[string]string
	if err := json.Unmarshal([]byte(sl.received()[0]), &msg); err != nil {
		t.Fatal(err)
	}
	want := "hoist: service/web rolled back: reg/web:1@sha256:aaaaaaaaaaaa → reg/web:1@sha256:bbbbbbbbbbbb (task abc exited (exit 3)) in 17s, trigger dockerhub"
	if msg["text"] != want {
		t.Fatalf("slack text:\n got %q\nwant %q", msg["text"], want)
	}
}

func TestTextOfANote(t *testing.T) {
	held := event
	held.Outcome, held.Reason, held.Ended = "awaiting_approval", "policy web holds new digests for approval: hoist approve service/web", held.Started
	want := "hoist: service/web waits for approval: reg/web:1@sha256:aaaaaaaaaaaa → reg/web:1@sha256:bbbbbbbbbbbb (policy web holds new digests for approval: hoist approve service/web), trigger dockerhub"
	if got := Text(held); got != want {
		t.Errorf("text:\n got %q\nwant %q", got, want)
	}
}

func TestOnlyWantedOutcomes(t *testing.T) {
	s := newSinkServer(t, 200)
	n, stop := start(t, []Sink{{URL: s.URL, Format: JSON{}, On: []string{"rolled_back", "failed"}}}, io.Discard)
	ok := event
	ok.Outcome = "succeeded"
	n.Send(ok)
	n.Send(event)
	<-s.got
	stop()
	if got := s.received(); len(got) != 1 || !strings.Contains(got[0], `"outcome":"rolled_back"`) {
		t.Fatalf("sent %q; want only the rollback", got)
	}
}

// 5xx and 429 are retried; a 4xx is not; the URL (which may hold a token) is never logged.
func TestRetries(t *testing.T) {
	flaky := newSinkServer(t, 503, 429, 200)
	gone := newSinkServer(t, 404)
	var logs strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) })
	n, stop := start(t, []Sink{{URL: flaky.URL + "/t0k3n", Format: JSON{}}, {URL: gone.URL + "/t0k3n", Format: JSON{}}}, w)
	n.Send(event)
	for range 3 {
		<-flaky.got
	}
	<-gone.got
	time.Sleep(100 * time.Millisecond) // a retry of the 404 would come within this
	stop()
	if got := len(flaky.received()); got != 3 {
		t.Errorf("flaky sink: %d attempts, want 3 (503, 429, 200)", got)
	}
	if got := len(gone.received()); got != 1 {
		t.Errorf("404 sink: %d attempts, want 1", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "sink answered 404") || strings.Contains(logs.String(), "t0k3n") {
		t.Errorf("logs: %s; want the 404 reported without the URL's token", logs.String())
	}
}

// A sink that cannot be reached does not hold up the caller, and its error names no URL.
func TestSendNeverBlocks(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) })
	n := New([]Sink{{URL: "http://127.0.0.1:1/t0k3n", Format: JSON{}}}, zerolog.New(w), Options{Queue: 2, Retries: 1, Backoff: time.Millisecond})
	start := time.Now()
	for range 10 {
		n.Send(event)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Send blocked for %s", took)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n.Run(ctx) // drains the 2 queued events without retrying forever
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "queue full") || !strings.Contains(logs.String(), "not delivered") || strings.Contains(logs.String(), "t0k3n") {
		t.Fatalf("logs: %s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
