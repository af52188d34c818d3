package policy

import (
	"strings"
	"testing"
	"time"
)

func TestAfterJudge(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	a := After{Policy: "staging", Soak: 30 * time.Minute}
	two := []string{"service/a", "service/b"}
	cases := []struct {
		name  string
		stage Stage
		want  Verdict
		text  string
	}{
		{"no workload in staging", Stage{}, Verdict{}, "waiting for staging (no workload follows policy staging)"},
		{"one of two ran it", Stage{Workloads: two, Since: map[string]time.Time{"service/b": now}}, Verdict{},
			"waiting for staging (1 of 2 workloads run it; not yet service/a)"},
		{"soaking", Stage{Workloads: two, Since: map[string]time.Time{"service/a": now.Add(-20 * time.Minute), "service/b": now.Add(-18 * time.Minute)}},
			Verdict{SoakStarted: true, Ends: now.Add(12 * time.Minute)}, "waiting for staging (soak 12m left)"},
		{"soak passed", Stage{Workloads: two, Since: map[string]time.Time{"service/a": now.Add(-time.Hour), "service/b": now.Add(-30 * time.Minute)}},
			Verdict{Eligible: true, SoakStarted: true, Ends: now}, "soaked 30m0s in staging"},
		{"rolled back in staging", Stage{Workloads: two, Since: map[string]time.Time{"service/a": now.Add(-time.Hour)}, Failed: "service/b rolled back"},
			Verdict{Failed: true}, "failed in staging: service/b rolled back"},
		{"failure wins over a passed soak", Stage{Workloads: two, Since: map[string]time.Time{"service/a": now.Add(-time.Hour), "service/b": now.Add(-time.Hour)}, Failed: "metric gate"},
			Verdict{Failed: true}, "failed in staging: metric gate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := a.Judge(c.stage, now)
			if got.Text != c.text {
				t.Errorf("text %q, want %q", got.Text, c.text)
			}
			got.Text = ""
			if got != c.want {
				t.Errorf("verdict %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestLeft(t *testing.T) {
	for d, want := range map[time.Duration]string{
		11*time.Minute + 40*time.Second: "12m", 8*time.Second + time.Millisecond: "9s", time.Hour + 5*time.Minute: "1h5m",
		2 * time.Hour: "2h", 59 * time.Second: "59s",
	} {
		if got := Left(d); got != want {
			t.Errorf("Left(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestStageOrder(t *testing.T) {
	got, err := StageOrder(map[string]string{"prod": "staging", "staging": "dev", "dev": "", "other": ""})
	if err != nil || strings.Join(got, ",") != "dev,other,staging,prod" {
		t.Fatalf("order %v, %v", got, err)
	}
	if _, err := StageOrder(map[string]string{"a": "b", "b": "a"}); err == nil || !strings.Contains(err.Error(), "cycle: a → b → a") {
		t.Fatalf("cycle: %v", err)
	}
	if _, err := StageOrder(map[string]string{"a": "a"}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("self: %v", err)
	}
	if _, err := StageOrder(map[string]string{"prod": "stagin"}); err == nil || !strings.Contains(err.Error(), `"stagin", which does not exist`) {
		t.Fatalf("missing: %v", err)
	}
}
