package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/webhook"
)

// contract checks answers against the OpenAPI document and notes what was exercised.
type contract struct {
	t    *testing.T
	doc  map[string]any
	sc   schemaChecker
	seen map[string]map[int]bool // "METHOD /template" → statuses
	// titles maps each problem type to the title it was seen with: one per type.
	titles map[string]string
}

func newContract(t *testing.T) *contract {
	var doc map[string]any
	if err := json.Unmarshal(openapi, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi %v, want 3.1.0", doc["openapi"])
	}
	return &contract{t: t, doc: doc, sc: schemaChecker{doc}, seen: map[string]map[int]bool{}, titles: map[string]string{}}
}

func (c *contract) paths() map[string]any { return c.doc["paths"].(map[string]any) }

// match finds the document's path template for a concrete path: the one with the most
// literal segments. A {param} segment matches any segment, the empty one included (the
// handler, not the router, refuses it).
func (c *contract) match(path string) (string, map[string]any) {
	segs := strings.Split(path, "/")
	best, bestLit := "", -1
	for tmpl := range c.paths() {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		lit := 0
		ok := true
		for i, s := range ts {
			switch {
			case strings.HasPrefix(s, "{"):
			case s == segs[i]:
				lit++
			default:
				ok = false
			}
		}
		if ok && lit > bestLit {
			best, bestLit = tmpl, lit
		}
	}
	if best == "" {
		return "", nil
	}
	return best, c.paths()[best].(map[string]any)
}

var methods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

// check holds one answer to the document.
func (c *contract) check(method, path string, res *http.Response, body []byte) {
	t := c.t
	t.Helper()
	where := method + " " + path
	if len(where) > 100 {
		where = where[:100] + "…"
	}
	ct, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	var v any
	if strings.HasSuffix(ct, "json") {
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("%s: %d body is not JSON: %.200s", where, res.StatusCode, body)
			return
		}
	}
	if res.StatusCode >= 400 {
		if ct != ContentTypeProblem {
			t.Errorf("%s: %d with content type %q, want %s", where, res.StatusCode, ct, ContentTypeProblem)
		}
		if p, ok := v.(map[string]any); ok {
			typ, _ := p["type"].(string)
			title, _ := p["title"].(string)
			if prev, ok := c.titles[typ]; ok && prev != title {
				t.Errorf("%s: problem %s titled %q and elsewhere %q", where, typ, title, prev)
			}
			c.titles[typ] = title
			if p["status"] != float64(res.StatusCode) {
				t.Errorf("%s: problem status %v, answer %d", where, p["status"], res.StatusCode)
			}
		}
	}
	tmpl, item := c.match(path)
	if item == nil {
		if res.StatusCode != 404 {
			t.Errorf("%s: undocumented path answered %d", where, res.StatusCode)
		}
		c.body(where, map[string]any{"$ref": "#/components/schemas/Problem"}, v)
		return
	}
	op, ok := item[strings.ToLower(method)].(map[string]any)
	if !ok {
		// Not a method of the path: 405, Allow naming exactly the documented ones.
		var want []string
		for _, m := range methods {
			if _, ok := item[m]; ok {
				want = append(want, strings.ToUpper(m))
			}
		}
		var allow []string
		for _, m := range strings.Split(res.Header.Get("Allow"), ",") {
			if m = strings.TrimSpace(m); m != "" && m != "OPTIONS" {
				allow = append(allow, m)
			}
		}
		sort.Strings(allow)
		if res.StatusCode != 405 || !slices.Equal(allow, want) {
			t.Errorf("%s: %d Allow %q, want 405 Allow %v", where, res.StatusCode, res.Header.Get("Allow"), want)
		}
		c.body(where, map[string]any{"$ref": "#/components/schemas/Problem"}, v)
		c.note(method, tmpl, res.StatusCode)
		return
	}
	c.note(method, tmpl, res.StatusCode)
	r, ok := op["responses"].(map[string]any)[strconv.Itoa(res.StatusCode)].(map[string]any)
	if !ok {
		t.Errorf("%s: status %d is not in the document: %.200s", where, res.StatusCode, body)
		return
	}
	if ref, ok := r["$ref"].(string); ok {
		var err error
		if r, err = c.sc.resolve(ref); err != nil {
			t.Fatal(err)
		}
	}
	for h, spec := range asMap(r["headers"]) {
		if asMap(spec)["required"] == true && res.Header.Get(h) == "" {
			t.Errorf("%s: %d without header %s", where, res.StatusCode, h)
		}
	}
	media, ok := asMap(r["content"])[ct]
	if !ok {
		t.Errorf("%s: %d content type %q, document has %v", where, res.StatusCode, ct, r["content"])
		return
	}
	if v != nil {
		c.body(where, asMap(asMap(media)["schema"]), v)
	}
}

func (c *contract) body(where string, schema map[string]any, v any) {
	for _, e := range c.sc.check(schema, v, "body") {
		c.t.Errorf("%s: %s", where, e)
	}
}

func (c *contract) note(method, tmpl string, status int) {
	k := method + " " + tmpl
	if c.seen[k] == nil {
		c.seen[k] = map[int]bool{}
	}
	c.seen[k][status] = true
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

type call struct {
	method, path string
	body         []byte
	header       []string // name, value pairs
	noAuth       bool
}

const hookSecret = "fedcba9876543210fedcba9876543210"

// TestContract runs a server wired as serve wires it (API, metrics, webhook receiver,
// one echo) over real HTTP, makes every documented route answer each way it can be
// reached, and checks every answer's status, content type, headers and body against
// api/openapi.json. Every documented operation must answer at least one success and
// one error, and every mounted route must be documented.
func TestContract(t *testing.T) {
	v := newEnv(t)
	// service/held follows a tag of an in-process registry under a policy that holds
	// every new digest for approval.
	reg := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	tag, err := name.NewTag(strings.TrimPrefix(reg.URL, "http://") + "/held:1")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	pushed, _ := img.Digest()
	v.services.ws = append(v.services.ws, updater.Workload{Kind: policy.Service, ID: "s3", Name: "held", Image: tag.String() + "@" + digestA})
	rule, err := policy.NewRule("held", []string{"held"}, nil, nil, policy.Digest, "")
	if err != nil {
		t.Fatal(err)
	}
	rule.When.Approve = true
	u := updater.New(updater.Options{Backends: []updater.Backend{v.services, v.conts}, Policies: policy.NewSet(rule),
		Plans: map[string]updater.Plan{"held": {}}, Resolver: registry.New(registry.Options{}), Store: v.store, Log: zerolog.Nop()})
	e := echo.New()
	reloaded := ConfigStatus{File: "hoist.yaml", Loaded: time.Now(), LastReload: &ConfigReload{At: time.Now(), Trigger: "sighup",
		Error: "hoist.yaml has 1 problem(s):\nhoist.yaml:3: unknown key", NeedsRestart: []string{"listen"}}}
	New(context.Background(), u, token, v.metrics).WithBudget(budgets{{Registry: "ghcr.io", Remaining: -1, Limit: -1}}).
		WithConfigStatus(func() ConfigStatus { return reloaded }).Register(e)
	webhook.New(config.Webhooks{DockerHub: &config.DockerHubSource{Token: token}, Generic: &config.SecretSource{Secret: hookSecret}},
		u, zerolog.Nop()).Register(e)
	srv := httptest.NewServer(e)
	defer srv.Close()
	if err := v.store.Quarantine(updater.Quarantine{Workload: "container/db", Digest: digestA, Since: time.Now(), Reason: "failed", Rollout: 1}); err != nil {
		t.Fatal(err)
	}
	push, err := os.ReadFile("../webhook/testdata/dockerhub/push.json")
	if err != nil {
		t.Fatal(err)
	}
	generic := []byte(`{"image":"registry.example.com/web:2"}`)
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write(generic)
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	long := strings.Repeat("x", 10<<10)
	w := "/api/v1/workloads/"
	calls := []call{
		{method: "GET", path: "/healthz"}, {method: "POST", path: "/healthz"},
		{method: "GET", path: "/metrics"}, {method: "PUT", path: "/metrics"},
		{method: "GET", path: "/metrics", header: []string{"Accept", "application/openmetrics-text;version=1.0.0"}},
		{method: "GET", path: "/api/v1/openapi.json"}, {method: "GET", path: "/api/v1/openapi.json", noAuth: true},
		{method: "DELETE", path: "/api/v1/openapi.json"},
		{method: "GET", path: "/api/v1/workloads"}, {method: "GET", path: "/api/v1/workloads", noAuth: true},
		{method: "POST", path: "/api/v1/workloads"},
		{method: "POST", path: "/api/v1/check"}, {method: "POST", path: "/api/v1/check", noAuth: true},
		{method: "GET", path: "/api/v1/check"},
		{method: "POST", path: w + "container/db/rollback"}, {method: "POST", path: w + "service/web/rollback"},
		{method: "POST", path: w + "service/fresh/rollback"}, {method: "POST", path: w + "service/nope/rollback"},
		{method: "POST", path: w + "service//rollback"}, {method: "POST", path: w + "pod/x/rollback"},
		{method: "POST", path: w + "service/web/rollback", noAuth: true}, {method: "GET", path: w + "service/web/rollback"},
		{method: "POST", path: w + "container/db/finish"}, {method: "POST", path: w + "service/web/finish"},
		{method: "POST", path: w + "container/cache/finish"}, {method: "POST", path: w + "container/nope/finish"},
		{method: "POST", path: w + "container/" + long + "/finish"}, {method: "POST", path: w + "container/db/finish", noAuth: true},
		{method: "PUT", path: w + "container/db/finish"},
		{method: "POST", path: w + "service/held/approve?digest=" + digestA},
		{method: "POST", path: w + "service/held/approve?digest=" + pushed.String()},
		{method: "POST", path: w + "service/web/approve"}, {method: "POST", path: w + "service/web/approve?digest=abc"},
		{method: "POST", path: w + "service/web/approve?digest=" + digestA}, {method: "POST", path: w + "service/nope/approve"},
		{method: "POST", path: w + "service/web/approve", noAuth: true}, {method: "GET", path: w + "service/web/approve"},
		{method: "DELETE", path: w + "container/db/quarantine"}, {method: "DELETE", path: w + "container/db/quarantine"},
		{method: "DELETE", path: w + "pod/db/quarantine"}, {method: "DELETE", path: w + "container/db/quarantine", noAuth: true},
		{method: "GET", path: w + "container/db/quarantine"},
		{method: "GET", path: "/api/v1/rollouts"}, {method: "GET", path: "/api/v1/rollouts?workload=container/db&limit=1"},
		{method: "GET", path: "/api/v1/rollouts?limit=0"}, {method: "GET", path: "/api/v1/rollouts?limit=" + long},
		{method: "GET", path: "/api/v1/rollouts", noAuth: true}, {method: "POST", path: "/api/v1/rollouts"},
		{method: "GET", path: "/api/v1/registries"}, {method: "GET", path: "/api/v1/registries", noAuth: true},
		{method: "PATCH", path: "/api/v1/registries"},
		{method: "GET", path: "/api/v1/config/status"}, {method: "GET", path: "/api/v1/config/status", noAuth: true},
		{method: "POST", path: "/api/v1/config/status"},
		{method: "GET", path: "/api/v1/nope"}, {method: "GET", path: "/nope"},
		{method: "POST", path: "/webhooks/dockerhub/" + token, body: push},
		{method: "POST", path: "/webhooks/dockerhub/" + strings.Repeat("0", 32), body: push},
		{method: "POST", path: "/webhooks/dockerhub/" + token, body: []byte(`{"push_data":{"tag":5}}`)},
		{method: "GET", path: "/webhooks/dockerhub/" + token},
		{method: "POST", path: "/webhooks/dockerhub", body: push},
		{method: "POST", path: "/webhooks/generic", body: generic, header: []string{"X-Hoist-Signature", sig}},
		{method: "POST", path: "/webhooks/generic", body: generic, header: []string{"X-Hoist-Signature", "sha256=00"}},
		{method: "POST", path: "/webhooks/generic", body: bytes.Repeat([]byte(" "), 2<<20), header: []string{"X-Hoist-Signature", sig}},
		{method: "DELETE", path: "/webhooks/generic"},
		{method: "POST", path: "/webhooks/ghcr", body: []byte("{}")},
	}
	c := newContract(t)
	for _, k := range calls {
		req, err := http.NewRequest(k.method, srv.URL+k.path, bytes.NewReader(k.body))
		if err != nil {
			t.Fatal(err)
		}
		if !k.noAuth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(k.header); i += 2 {
			req.Header.Set(k.header[i], k.header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		c.check(k.method, strings.SplitN(k.path, "?", 2)[0], res, body)
	}
	// Every documented operation answered a success and an error (a path whose only
	// documented error is 405 answered that, to another method).
	for tmpl, item := range c.paths() {
		for _, m := range methods {
			op, ok := asMap(item)[m]
			if !ok {
				continue
			}
			k := strings.ToUpper(m) + " " + tmpl
			codes := asMap(asMap(op)["responses"])
			ok2, bad := false, false
			for s := range c.seen[k] {
				ok2 = ok2 || s < 300
				bad = bad || s >= 400
			}
			if len(codes) == 2 && codes["405"] != nil {
				bad = true
			}
			if !ok2 || !bad {
				t.Errorf("%s: not exercised both ways (statuses %v)", k, c.seen[k])
			}
		}
		wrong := false
		for k, st := range c.seen {
			wrong = wrong || strings.HasSuffix(k, " "+tmpl) && st[405]
		}
		if !wrong {
			t.Errorf("%s: no wrong method tried", tmpl)
		}
	}
	// Every mounted route is documented.
	for _, r := range e.Routes() {
		if strings.HasSuffix(r.Path, "/*") {
			continue // the webhook receiver's catch-all: 404 and 405 only
		}
		segs := strings.Split(r.Path, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, ":") {
				segs[i] = "x"
			}
		}
		_, item := c.match(strings.Join(segs, "/"))
		if _, ok := item[strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s is not in the document", r.Method, r.Path)
		}
	}
}
