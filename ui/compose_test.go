package ui

import (
	"testing"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// The dashboard's row carries the note that a workload's compose file names another
// image than the one running.
func TestStateCompose(t *testing.T) {
	note := "compose file /srv/shop/compose.yaml still names :1.4; `docker compose up` would downgrade to it (running :1.5)"
	w := updater.Workload{Kind: policy.Container, Name: "shop_web_1", Image: "registry.example/web:1.5", Compose: note}
	v := buildState([]updater.Status{{Workload: w, Policy: "web", Action: updater.UpToDate}}, nil, nil)
	if len(v.Workloads) != 1 || v.Workloads[0].Compose != note {
		t.Errorf("row: %+v, want the compose note", v.Workloads)
	}
}
