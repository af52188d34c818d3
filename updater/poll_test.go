package updater

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
)

// lockedBuffer is a log sink safe for the updater's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A registry that accepts connections and never answers: each poll cycle ends within
// the request deadline, the log names the registry, and nothing rolls out.
func TestPollCycleWithSilentRegistry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	host := ln.Addr().String()
	ref := host + "/app:stable@sha256:" + strings.Repeat("a", 64)

	store, err := OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rule, _ := policy.NewRule("p", []string{"app"}, nil, nil, policy.Digest, "")
	eng := &flakyEngine{updated: make(chan Target, 1), w: Workload{Kind: policy.Service, ID: "x", Name: "app", Image: ref}}
	logs := &lockedBuffer{}
	var cyclesMu sync.Mutex
	var cycles []float64
	const deadline = 300 * time.Millisecond
	u := New(Options{Backends: []Backend{eng}, Policies: policy.NewSet(rule), Plans: map[string]Plan{"p": {}},
		Resolver: registry.New(registry.Options{RequestTimeout: deadline}), Store: store, Log: zerolog.New(logs),
		Observe: func(name string, v float64, _ ...string) {
			if name == "hoist_poll_cycle_duration_seconds" {
				cyclesMu.Lock()
				cycles = append(cycles, v)
				cyclesMu.Unlock()
			}
		}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go u.Run(ctx)
	go u.Poll(ctx, 200*time.Millisecond, nil, 0)

	end := time.Now().Add(10 * time.Second)
	for {
		cyclesMu.Lock()
		n := len(cycles)
		cyclesMu.Unlock()
		if n >= 3 && strings.Contains(logs.String(), "poll: check failed") {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d poll cycles in 10 s against a silent registry; logs:\n%s", n, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cyclesMu.Lock()
	defer cyclesMu.Unlock()
	for _, c := range cycles {
		// The silent registry is tried over https, then http: two deadlines at most.
		if c > (3 * deadline).Seconds() {
			t.Errorf("a poll cycle took %.2fs; the request deadline is %s", c, deadline)
		}
	}
	line := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "poll: check failed") {
			line = l
			break
		}
	}
	if !strings.Contains(line, host) || !strings.Contains(line, "service/app") {
		t.Errorf("the poll's log line does not name the registry %s and the workload: %s", host, line)
	}
	select {
	case tg := <-eng.updated:
		t.Fatalf("rolled out %s", tg.Digest)
	default:
	}
	t.Logf("poll cycles against a silent registry (deadline %s): %v s", deadline, cycles)
}
