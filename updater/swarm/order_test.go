package swarm

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// sampleRunning counts the service's running tasks every 100 ms until stop is called,
// which returns the lowest count seen and how many samples were taken.
func (e *env) sampleRunning(w updater.Workload) (stop func() (lowest, samples int)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	lowest, samples := -1, 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		f := make(client.Filters).Add("service", w.ID).Add("desired-state", "running")
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			res, err := e.c.TaskList(ctx, client.TaskListOptions{Filters: f})
			if err == nil {
				n := 0
				for _, tk := range res.Items {
					if tk.Status.State == swarm.TaskStateRunning {
						n++
					}
				}
				if lowest < 0 || n < lowest {
					lowest = n
				}
				samples++
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() (int, int) {
		cancel()
		wg.Wait()
		return lowest, samples
	}
}

func TestUpdateOrderKeepsCapacity(t *testing.T) {
	for _, tc := range []struct {
		name       string
		startFirst bool
		min        int
	}{
		{"start-first", true, 2},
		{"stop-first", false, 2 - 1}, // replicas - parallelism
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			v1 := e.push("v1", testenv.App{Version: "1"})
			v2 := e.push("v2", testenv.App{Version: "2"})
			w := e.service(v1.Image(), 2)

			p := fastPlan()
			p.StartFirst = tc.startFirst
			p.Watch = 2 * time.Second
			stop := e.sampleRunning(w)
			res := e.b.Update(context.Background(), []updater.Workload{w}, v2, p, nil, e.log)
			lowest, samples := stop()
			t.Logf("%+v; lowest running %d over %d samples", res, lowest, samples)
			if res.Outcome != updater.Succeeded {
				t.Fatalf("outcome %s (%s), want succeeded", res.Outcome, res.Reason)
			}
			if samples < 20 {
				t.Errorf("only %d samples", samples)
			}
			if lowest < tc.min {
				t.Errorf("running tasks dropped to %d, want at least %d", lowest, tc.min)
			}
			e.assertOn(w, v2.Image(), 2)
		})
	}
}
