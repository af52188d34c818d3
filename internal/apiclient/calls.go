package apiclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/updater"
)

// Workload is one entry of GET /api/v1/workloads: a workload's check, and the digests
// quarantined for it.
type Workload struct {
	updater.Status
	Quarantined []updater.Quarantine `json:"quarantined"`
}

// Workloads checks every workload (GET /api/v1/workloads: a check that changes nothing).
func (c *Client) Workloads(ctx context.Context) ([]Workload, error) {
	var ws []Workload
	return ws, c.Get(ctx, "/api/v1/workloads", &ws)
}

// Workload returns what hoist says of the workload key ("service/web").
func (c *Client) Workload(ctx context.Context, key string) (Workload, error) {
	ws, err := c.Workloads(ctx)
	if err != nil {
		return Workload{}, err
	}
	for _, w := range ws {
		if w.Workload.Key() == key {
			return w, nil
		}
	}
	return Workload{}, fmt.Errorf("hoist does not list %s", key)
}

// Rollouts returns rollout records newest first, of one workload or all (""); limit 0
// is the server's default (100).
func (c *Client) Rollouts(ctx context.Context, key string, limit int) ([]updater.Rollout, error) {
	q := url.Values{}
	if key != "" {
		q.Set("workload", key)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var rs []updater.Rollout
	return rs, c.Get(ctx, "/api/v1/rollouts?"+q.Encode(), &rs)
}

// WorkloadPath is the API path of an action on the workload key ("service/web"),
// with the digest it names when one is given: /api/v1/workloads/service/web/approve?digest=….
func WorkloadPath(key, action, digest string) string {
	kind, name, _ := cutKey(key)
	p := "/api/v1/workloads/" + kind + "/" + url.PathEscape(name) + action
	if digest != "" {
		p += "?digest=" + url.QueryEscape(digest)
	}
	return p
}

func cutKey(key string) (kind, name string, ok bool) {
	for i := range len(key) {
		if key[i] == '/' {
			return key[:i], key[i+1:], true
		}
	}
	return key, "", false
}

// Approve lets the update held for key roll out, naming the digest reviewed.
func (c *Client) Approve(ctx context.Context, key, digest string) (updater.Status, error) {
	var st updater.Status
	return st, c.Call(ctx, http.MethodPost, WorkloadPath(key, "/approve", digest), &st)
}

// ConfigStatus returns the configuration file in force and how its last reload went.
func (c *Client) ConfigStatus(ctx context.Context) (api.ConfigStatus, error) {
	var st api.ConfigStatus
	return st, c.Get(ctx, "/api/v1/config/status", &st)
}
