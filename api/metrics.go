package api

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// Metrics counts what hoist does, in the Prometheus text format. Label values are only
// hoist's own words (source names, outcomes), never text from a payload.
type Metrics struct {
	mu       sync.Mutex
	counters map[string]uint64 // "name{labels}" → value
}

// NewMetrics returns empty counters.
func NewMetrics() *Metrics { return &Metrics{counters: map[string]uint64{}} }

// Inc adds one to a counter; labels are name, value pairs.
func (m *Metrics) Inc(name string, labels ...string) {
	if m == nil {
		return
	}
	var b strings.Builder
	b.WriteString(name)
	if len(labels) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s=%q", labels[i], labels[i+1])
		}
		b.WriteByte('}')
	}
	m.mu.Lock()
	m.counters[b.String()]++
	m.mu.Unlock()
}

func (m *Metrics) serve(c echo.Context) error {
	m.mu.Lock()
	keys := make([]string, 0, len(m.counters))
	for k := range m.counters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	typed := map[string]bool{}
	for _, k := range keys {
		n, _, _ := strings.Cut(k, "{")
		if !typed[n] {
			fmt.Fprintf(&b, "# TYPE %s counter\n", n)
			typed[n] = true
		}
		fmt.Fprintf(&b, "%s %d\n", k, m.counters[k])
	}
	m.mu.Unlock()
	return c.Blob(http.StatusOK, "text/plain; version=0.0.4", []byte(b.String()))
}
