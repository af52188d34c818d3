package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed assets
var assetFS embed.FS

// static is one embedded file as served: its bytes, gzipped, and its ETag.
type static struct {
	ctype      string
	raw, gz    []byte
	etag, hash string
}

// statics are the files under assets/ served as they are (the pages are templates).
var statics = func() map[string]*static {
	out := map[string]*static{}
	for _, name := range []string{"app.js", "app.css", "icon.svg"} {
		b, err := assetFS.ReadFile("assets/" + name)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:8])
		out[name] = &static{ctype: mime.TypeByExtension(path.Ext(name)), raw: b, gz: gzipped(b), etag: `"` + h + `"`, hash: h}
	}
	return out
}()

// pages are the HTML templates.
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"v": func(name string) string {
		if st, ok := statics[name]; ok {
			return st.hash
		}
		return ""
	},
}).ParseFS(assetFS, "assets/*.html"))

// pageData is what a page template is filled with.
type pageData struct {
	// Root is the dashboard's base path relative to the page ("./", "../"): every URL
	// in a page is relative, so a reverse proxy may serve it under a prefix.
	Root     string
	CSRF     string
	LoggedIn bool
	Error    string
	ID       uint64
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// contentSecurity allows the page only its own scripts, styles and connections.
const contentSecurity = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func (s *Server) render(c echo.Context, status int, name string, d pageData) error {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, d); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", contentSecurity)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	noStore(c)
	return send(c, status, "text/html; charset=utf-8", buf.Bytes())
}

// noStore keeps an answer out of every cache (it is per session, or changes).
func noStore(c echo.Context) {
	c.Response().Header().Set("Cache-Control", "no-store")
}

// send writes b, gzipped when the client takes gzip and it is worth it.
func send(c echo.Context, status int, ctype string, b []byte) error {
	h := c.Response().Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	if len(b) > 512 && acceptsGzip(c.Request()) {
		h.Set("Content-Encoding", "gzip")
		b = gzipped(b)
	}
	return c.Blob(status, ctype, b)
}

// sendJSON answers v as JSON, with the characters that could mislead a reader of
// its strings made visible (see visible).
func sendJSON(c echo.Context, status int, v any) error {
	b, err := visibleJSON(v)
	if err != nil {
		return err
	}
	noStore(c)
	return send(c, status, "application/json", b)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// asset serves an embedded file. Asked with ?v= its current hash (as the pages ask)
// it may be cached for good; otherwise it is revalidated by ETag.
func (s *Server) asset(c echo.Context) error {
	st, ok := statics[c.Param("name")]
	if !ok {
		return problem(http.StatusNotFound, "not-found", "no such asset")
	}
	h := c.Response().Header()
	h.Set("ETag", st.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	if c.QueryParam("v") == st.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if match := c.Request().Header.Get("If-None-Match"); match != "" && strings.Contains(match, st.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	if acceptsGzip(c.Request()) {
		h.Set("Content-Encoding", "gzip")
		return c.Blob(http.StatusOK, st.ctype, st.gz)
	}
	return c.Blob(http.StatusOK, st.ctype, st.raw)
}
