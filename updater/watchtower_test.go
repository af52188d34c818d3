package updater

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
)

// labelledEngine lists containers and tells which ones each rollout was given.
type labelledEngine struct {
	groupEngine
	rolled chan []string
}

func (l *labelledEngine) Update(ctx context.Context, ws []Workload, t Target, p Plan, j Journal, log zerolog.Logger) Result {
	var names []string
	for _, w := range ws {
		names = append(names, w.Name)
	}
	l.rolled <- names
	return Result{Outcome: Succeeded}
}

// Under a policy that honours Watchtower's labels, against a real registry: the enabled
// container rolls out; the monitor-only one gets one record per digest saying an
// update is available; enable=false and an unlabelled container (label_enable) are not
// governed, and a check says why.
func TestWatchtowerLabelsInTheUpdater(t *testing.T) {
	reg := testenv.NewRegistry(t)
	ref := reg.Host + "/app:stable"
	d1 := testenv.PushApp(t, ref, testenv.App{Version: "1"})
	d2 := testenv.PushApp(t, ref, testenv.App{Version: "2"})
	store, err := OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rule, _ := policy.NewRule("p", nil, nil, nil, policy.Digest, "")
	rule.Watchtower = &policy.Watchtower{LabelEnable: true}
	on := func(more ...string) map[string]string {
		l := map[string]string{policy.WatchtowerEnable: "true"}
		for i := 0; i+1 < len(more); i += 2 {
			l[more[i]] = more[i+1]
		}
		return l
	}
	img := ref + "@" + d1.String()
	eng := &labelledEngine{rolled: make(chan []string, 4)}
	eng.ws = []Workload{
		{Kind: policy.Container, ID: "a", Name: "web", Image: img, Labels: on()},
		{Kind: policy.Container, ID: "b", Name: "mon", Image: img, Labels: on(policy.WatchtowerMonitorOnly, "true")},
		{Kind: policy.Container, ID: "c", Name: "off", Image: img, Labels: map[string]string{policy.WatchtowerEnable: "false"}},
		{Kind: policy.Container, ID: "d", Name: "bare", Image: img},
	}
	u, stop := runUpdater(eng, rule, store)
	defer stop()
	for range 2 { // the second check finds the same digest: no second record
		sts, err := u.Check(context.Background(), true, "test")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]Action{"container/web": WouldUpdate, "container/mon": WatchOnly, "container/off": NoPolicy, "container/bare": NoPolicy}
		for _, st := range sts {
			if st.Action != want[st.Workload.Key()] {
				t.Errorf("%s: %s (%s), want %s", st.Workload.Key(), st.Action, st.Reason, want[st.Workload.Key()])
			}
			if st.Workload.Name == "off" && !strings.Contains(st.Reason, "enable=false") {
				t.Errorf("off: reason %q", st.Reason)
			}
		}
	}
	select {
	case names := <-eng.rolled:
		if strings.Join(names, ",") != "web" {
			t.Fatalf("rolled out %v, want web only", names)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("web was not rolled out")
	}
	rs, err := store.Rollouts("container/mon", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Outcome != Skipped || !strings.Contains(rs[0].Reason, "update available") || !strings.HasSuffix(rs[0].To, d2.String()) {
		t.Fatalf("monitor-only records: %+v", rs)
	}
	for _, k := range []string{"container/off", "container/bare"} {
		if rs, _ := store.Rollouts(k, 10); len(rs) != 0 {
			t.Errorf("%s has records: %+v", k, rs)
		}
	}
}
