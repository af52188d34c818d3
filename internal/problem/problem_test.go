package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestWrite(t *testing.T) {
	e := echo.New()
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		w := httptest.NewRecorder()
		c := e.NewContext(httptest.NewRequest(method, "/x", nil), w)
		if err := Write(c, New(http.StatusConflict, "busy", "a rollout of service/web is running")); err != nil {
			t.Fatal(err)
		}
		if w.Code != http.StatusConflict || w.Header().Get("Content-Type") != ContentType {
			t.Fatalf("%s: %d %q", method, w.Code, w.Header().Get("Content-Type"))
		}
		if method == http.MethodHead {
			if w.Body.Len() != 0 {
				t.Errorf("HEAD answered a body: %s", w.Body)
			}
			continue
		}
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"type": TypePrefix + "busy", "title": "Rollout in progress", "status": float64(409), "detail": "a rollout of service/web is running"}
		if len(got) != len(want) {
			t.Fatalf("fields %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
	}
}

func TestTitles(t *testing.T) {
	for slug, title := range titles {
		if title == "" || Title(slug) != title {
			t.Errorf("%s: title %q", slug, title)
		}
	}
	if p := New(http.StatusTeapot, "no-such-kind", "d"); p.Title != "" || p.Error() != ": d" {
		t.Errorf("unknown slug: %+v", p)
	}
}
