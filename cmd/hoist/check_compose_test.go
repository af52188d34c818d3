package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// An up-to-date compose member whose file names the old tag says so in hoist check.
func TestCheckViewCompose(t *testing.T) {
	note := "compose file /srv/shop/compose.yaml still names :1.4; `docker compose up` would downgrade to it (running :1.5)"
	w := updater.Workload{Kind: policy.Container, Name: "shop_web_1", Image: "registry.example/web:1.5", Compose: note}
	var out, errs bytes.Buffer
	if err := (checkView{}).print(&out, &errs, []updater.Status{{Workload: w, Policy: "web", Action: updater.UpToDate}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), note) {
		t.Errorf("hoist check does not show the compose note:\n%s", out.String())
	}
}
