package gate

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// promServer answers /api/v1/query as Prometheus does, with body for every query, and
// counts the queries it was asked with their text.
func promServer(t *testing.T, body func(query string) string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		r.ParseForm()
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body(r.Form.Get("query")))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func vector(values ...string) string {
	var s []string
	for i, v := range values {
		s = append(s, fmt.Sprintf(`{"metric":{"job":"web","instance":"t%d"},"value":[1733572800.123,%q]}`, i, v))
	}
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(s, ",") + `]}}`
}

func TestPrometheusCheck(t *testing.T) {
	q := `sum(rate(http_errors_total[1m])) / sum(rate(http_requests_total[1m]))`
	cases := []struct {
		name   string
		body   string
		ok     bool
		reason string
	}{
		{"below", vector("0.01", "0.02"), true, "= 0.02, below 0.05"},
		{"one sample above", vector("0.01", "0.12"), false, "= 0.12, not below 0.05"},
		{"at the threshold", vector("0.05"), false, "not below 0.05"},
		{"no sample", vector(), true, "returned no sample"},
		{"no traffic (NaN)", vector("NaN"), true, "returned no sample"},
		{"scalar", `{"status":"success","data":{"resultType":"scalar","result":[1733572800,"0.2"]}}`, false, "= 0.2, not below 0.05"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, n := promServer(t, func(got string) string {
				if got != q {
					return `{"status":"error","errorType":"bad_data","error":"unexpected query"}`
				}
				return c.body
			})
			g, err := NewPrometheus(srv.URL, q, 0.05)
			if err != nil {
				t.Fatal(err)
			}
			ok, reason, err := g.Check(context.Background())
			if err != nil || ok != c.ok || !strings.Contains(reason, c.reason) || !strings.Contains(reason, q) {
				t.Fatalf("Check: %v %q %v; want %v and a reason naming the query and %q", ok, reason, err, c.ok, c.reason)
			}
			if n.Load() != 1 {
				t.Fatalf("%d queries, want 1", n.Load())
			}
		})
	}
}

func TestPrometheusErrors(t *testing.T) {
	srv, _ := promServer(t, func(string) string {
		return `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}`
	})
	g, _ := NewPrometheus(srv.URL, "sum(", 1)
	if _, _, err := g.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "parse error") || !strings.Contains(err.Error(), "sum(") {
		t.Fatalf("bad query: %v", err)
	}
	srv2, _ := promServer(t, func(string) string {
		return `{"status":"success","data":{"resultType":"matrix","result":[]}}`
	})
	g, _ = NewPrometheus(srv2.URL, "up[5m]", 1)
	if _, _, err := g.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "instant vector") {
		t.Fatalf("range vector: %v", err)
	}
	srv2.Close()
	if _, _, err := g.Check(context.Background()); err == nil {
		t.Fatal("server gone: no error")
	}
}
