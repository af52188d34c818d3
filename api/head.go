package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// ctxHead marks a HEAD request served by a GET route.
const ctxHead = "hoist.head"

// headAsGet serves HEAD wherever GET is served: the request is routed as a GET, its
// answer's status and headers are sent and its body is dropped. The request reads
// HEAD again before the error handler runs.
func headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodHead {
			return next(c)
		}
		r.Method = http.MethodGet
		c.Set(ctxHead, true)
		c.Response().Writer = headWriter{c.Response().Writer}
		defer func() { r.Method = http.MethodHead }()
		return next(c)
	}
}

// IsHead reports whether c answers a HEAD request (a GET handler may stop once its
// headers are written, as the live feed does).
func IsHead(c echo.Context) bool {
	h, _ := c.Get(ctxHead).(bool)
	return h
}

// headWriter drops a body.
type headWriter struct{ http.ResponseWriter }

func (w headWriter) Write(p []byte) (int, error) { return len(p), nil }

func (w headWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w headWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// MaxHeaderBytes is the most a request's line and headers may take before hoist
// answers 431 as a problem. Go's server refuses on its own, as text/plain, past its
// http.Server.MaxHeaderBytes (1 MiB by default) plus 4 KiB; between the two the
// answer has hoist's shape.
const MaxHeaderBytes = 64 << 10

// limitHeaders answers 431 to a request whose line and headers exceed MaxHeaderBytes.
func limitHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
		for k, vs := range r.Header {
			for _, v := range vs {
				n += len(k) + len(v) + 4
			}
		}
		if n > MaxHeaderBytes {
			return problem(http.StatusRequestHeaderFieldsTooLarge, "headers-too-large",
				"the request line and headers take "+strconv.Itoa(n)+" bytes; at most "+strconv.Itoa(MaxHeaderBytes)+" are read")
		}
		return next(c)
	}
}

// recoverProblem answers a handler's panic as a 500 problem (logged with the error
// handler's logger) instead of a dropped connection.
func recoverProblem(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				c.Logger().Errorf("handler panicked: %v", p)
				err = problem(http.StatusInternalServerError, "internal", "the server could not answer; its log says why")
			}
		}()
		return next(c)
	}
}
