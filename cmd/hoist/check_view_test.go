package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// manyUnrelated is 1,000 workloads no policy governs, each pinned to a digest, one
// governed service, and one whose label names a policy the file lacks.
func manyUnrelated() []updater.Status {
	d := "sha256:" + strings.Repeat("ab", 32)
	var sts []updater.Status
	for i := range 1000 {
		w := updater.Workload{Kind: policy.Service, Name: fmt.Sprintf("other-%04d", i), Image: "registry.example/team/other:1.2@" + d}
		sts = append(sts, updater.Status{Workload: w, Action: updater.NoPolicy, Reason: "the name matches none of the services globs of 2 policies"})
	}
	web := updater.Workload{Kind: policy.Service, Name: "web", Image: "registry.example/web:stable@" + d}
	sts = append(sts, updater.Status{Workload: web, Policy: "web", Action: updater.WouldUpdate,
		Target: "registry.example/web:stable@sha256:" + strings.Repeat("cd", 32)})
	typo := updater.Workload{Kind: policy.Container, Name: "typo", Image: "x:1", Labels: map[string]string{policy.LabelPolicy: "wbe"}}
	return append(sts, updater.Status{Workload: typo, Action: updater.NoPolicy, Reason: "label hoist.policy=wbe names no policy in the file"})
}

func TestCheckViewGovernedOnly(t *testing.T) {
	var out, errs bytes.Buffer
	if err := (checkView{short: true}).print(&out, &errs, manyUnrelated()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "service/web ") || !strings.HasPrefix(lines[2], "container/typo ") {
		t.Fatalf("want the header, the governed service and the mislabelled container:\n%s", out.String())
	}
	if !strings.Contains(lines[1], "@sha256:abababababab ") || !strings.HasSuffix(lines[1], "@sha256:cdcdcdcdcdcd") {
		t.Errorf("digests not cut to 12 hex digits on a terminal:\n%s", lines[1])
	}
	if got := errs.String(); got != "1000 of 1002 workloads governed by no policy are not shown (--all lists them, with why)\n" {
		t.Errorf("stderr = %q", got)
	}
	for _, l := range lines {
		if len(l) > 150 {
			t.Errorf("line of %d characters: %s", len(l), l)
		}
	}
}

func TestCheckViewAllWideJSON(t *testing.T) {
	sts := manyUnrelated()
	var out, errs bytes.Buffer
	if err := (checkView{all: true}).print(&out, &errs, sts); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 1003 || errs.Len() != 0 {
		t.Fatalf("--all: %d lines, stderr %q", n, errs.String())
	}
	if !strings.Contains(out.String(), "the name matches none of the services globs of 2 policies") ||
		!strings.Contains(out.String(), "@sha256:"+strings.Repeat("ab", 32)) {
		t.Errorf("--all shows why and, off a terminal, whole digests:\n%.400s", out.String())
	}
	out.Reset()
	if err := (checkView{json: true}).print(&out, &errs, sts); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), `"action":`); n != 2 || !strings.Contains(out.String(), strings.Repeat("cd", 32)) {
		t.Errorf("--json: %d statuses, want 2 with whole digests", n)
	}
}
