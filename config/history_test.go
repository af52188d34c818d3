package config

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"
)

// history.keep is a count of records per workload or an age; anything else is a
// problem on keep's line that says what to write.
func TestHistoryKeep(t *testing.T) {
	const policies = "policies:\n  - name: p\n    match: { services: [x] }\n"
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		want       Keep
		problem    string // the problem's text, "" when the file is valid
	}{
		{name: "default", yaml: "", want: Keep{Count: DefaultHistoryKeep}},
		{name: "empty section", yaml: "history: {}\n", want: Keep{Count: DefaultHistoryKeep}},
		{name: "null", yaml: "history: { keep: ~ }\n", want: Keep{Count: DefaultHistoryKeep}},
		{name: "count", yaml: "history: { keep: 1000 }\n", want: Keep{Count: 1000}},
		{name: "count of one", yaml: "history: { keep: 1 }\n", want: Keep{Count: 1}},
		{name: "days", yaml: "history: { keep: 90d }\n", want: Keep{Age: Duration(90 * 24 * time.Hour)}},
		{name: "hours", yaml: "history: { keep: 2160h }\n", want: Keep{Age: Duration(2160 * time.Hour)}},
		{name: "quoted", yaml: "history: { keep: \"36h30m\" }\n", want: Keep{Age: Duration(36*time.Hour + 30*time.Minute)}},
		{name: "from the environment", yaml: "history: { keep: ${KEEP} }\n", env: map[string]string{"KEEP": "30d"}, want: Keep{Age: Duration(30 * 24 * time.Hour)}},
		{name: "negative", yaml: "history: { keep: -1 }\n", problem: "x.yaml:1: history.keep: keep -1 is negative; " + keepHint},
		{name: "negative age", yaml: "history:\n  keep: -5d\n", problem: "x.yaml:2: history.keep: keep -5d is negative; " + keepHint},
		{name: "banana", yaml: "history:\n  keep: banana\n", problem: `x.yaml:2: history.keep: keep "banana": ` + keepHint},
		{name: "zero", yaml: "history: { keep: 0 }\n", problem: "x.yaml:1: history.keep: keep 0 would drop every record; " + keepHint},
		{name: "zero age", yaml: "history: { keep: 0d }\n", problem: "x.yaml:1: history.keep: keep 0d is shorter than an hour: records would go about as soon as they are written; " + keepHint},
		{name: "too short", yaml: "history: { keep: 30m }\n", problem: "x.yaml:1: history.keep: keep 30m is shorter than an hour: records would go about as soon as they are written; " + keepHint},
		{name: "fraction", yaml: "history: { keep: 1.5 }\n", problem: `x.yaml:1: history.keep: keep "1.5": ` + keepHint},
		{name: "days overflow", yaml: "history: { keep: 999999999d }\n", problem: `x.yaml:1: history.keep: keep "999999999d": ` + keepHint},
		{name: "weeks", yaml: "history: { keep: 2w }\n", problem: `x.yaml:1: history.keep: keep "2w": ` + keepHint},
		{name: "typo", yaml: "history: { kepe: 10 }\n", problem: `x.yaml:1: history.kepe: unknown key "kepe"; did you mean "keep"?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(tc.yaml+policies), env(tc.env))
			if tc.problem != "" {
				var ps Problems
				if !errors.As(err, &ps) || len(ps) != 1 || ps[0].String() != tc.problem {
					t.Fatalf("got %v\nwant %s", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.History.Keep != tc.want {
				t.Fatalf("keep %+v, want %+v", cfg.History.Keep, tc.want)
			}
		})
	}
}

// The fixture with an age parses, and keep prints as it was written.
func TestHistoryFixture(t *testing.T) {
	b, err := os.ReadFile("testdata/history.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("testdata/history.yaml", b, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if k := cfg.History.Keep; k.Count != 0 || k.Age.D() != 90*24*time.Hour || k.String() != "90d" {
		t.Fatalf("keep: %+v %s", k, k)
	}
	js, _ := json.Marshal(cfg.History)
	if string(js) != `{"keep":"90d"}` {
		t.Errorf("json: %s", js)
	}
	js, _ = json.Marshal(History{Keep: Keep{Count: 1000}})
	if string(js) != `{"keep":1000}` {
		t.Errorf("json: %s", js)
	}
}
