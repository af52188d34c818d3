package updater_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
)

// flakyStream is an index whose event stream the test connects and breaks.
type flakyStream struct {
	staticIndex
	up atomic.Bool
}

func (f *flakyStream) Streaming() bool { return f.up.Load() }

// TestStreamStateSaysWhenTheStreamBreaks: hoist_event_stream_up follows the stream
// (0 before it connects, 1, 0 when it breaks, 1 when it is back), and the log warns of
// the break and says when it is back.
func TestStreamStateSaysWhenTheStreamBreaks(t *testing.T) {
	ix := &flakyStream{staticIndex: staticIndex{kind: policy.Container}}
	var mu sync.Mutex
	var gauge []string
	logs := &updater.LockedBuffer{}
	store, err := updater.OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	u := updater.New(updater.Options{Backends: []updater.Backend{ix}, Policies: policy.NewSet(), Plans: map[string]updater.Plan{},
		Resolver: registry.New(registry.Options{}), Store: store, Log: zerolog.New(logs),
		Gauge: func(name string, v float64, labels ...string) {
			mu.Lock()
			defer mu.Unlock()
			gauge = append(gauge, fmt.Sprintf("%s%v=%v", name, labels, v))
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { updater.StreamState(ctx, u, "container", ix, 5*time.Millisecond); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	settings := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(gauge)
	}
	seen := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := settings()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d gauge settings, want %d", got, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	seen(1)
	for _, up := range []bool{true, false, true} {
		ix.up.Store(up)
		seen(settings() + 1)
	}
	cancel()
	<-done
	want := []string{"0", "1", "0", "1"}
	if len(gauge) != len(want) {
		t.Fatalf("gauge set %d times: %v", len(gauge), gauge)
	}
	for i, g := range gauge {
		if !strings.HasPrefix(g, "hoist_event_stream_up[kind container]=") || !strings.HasSuffix(g, "="+want[i]) {
			t.Errorf("gauge setting %d: %s, want hoist_event_stream_up{kind=container} %s", i+1, g, want[i])
		}
	}
	log := logs.String()
	if !strings.Contains(log, `"level":"warn"`) || !strings.Contains(log, "event stream broke") {
		t.Errorf("no warning of the break in the log:\n%s", log)
	}
	if !strings.Contains(log, `"level":"info"`) || !strings.Contains(log, "event stream is back") {
		t.Errorf("the log never says the stream is back:\n%s", log)
	}
}
