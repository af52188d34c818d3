package gate

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/hoist-dev/hoist/policy"
)

// Prometheus is a gate on an instant query to a Prometheus-compatible server: every
// sample must be below a threshold.
type Prometheus struct {
	api   promv1.API
	url   string
	query string
	below float64
}

// queryTimeout bounds one query.
const queryTimeout = 10 * time.Second

// NewPrometheus returns a gate asking the server at url (its base URL,
// http://prometheus:9090) for query, whose every sample must stay below below.
func NewPrometheus(url, query string, below float64) (*Prometheus, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, fmt.Errorf("prometheus gate %s: %w", url, err)
	}
	return &Prometheus{api: promv1.NewAPI(c), url: url, query: query, below: below}, nil
}

// New returns the gate a policy's spec describes.
func New(g policy.Gate) (*Prometheus, error) { return NewPrometheus(g.URL, g.Query, g.Below) }

// Reading is one answer of a gate's query.
type Reading struct {
	Query string  `json:"query"`
	Below float64 `json:"below"`
	// Value is the highest sample (0 when the query returned none).
	Value float64 `json:"value"`
	// Samples is how many samples the query returned (NaN ones are not counted).
	Samples int       `json:"samples"`
	At      time.Time `json:"at"`
	// OK: every sample was below the threshold (no sample at all passes).
	OK bool `json:"ok"`
}

// String says the reading for a record or a reason.
func (r Reading) String() string {
	if r.Samples == 0 {
		return fmt.Sprintf("query `%s` returned no sample (passes; threshold %s)", r.Query, num(r.Below))
	}
	if r.OK {
		return fmt.Sprintf("query `%s` = %s, below %s", r.Query, num(r.Value), num(r.Below))
	}
	return fmt.Sprintf("query `%s` = %s, not below %s", r.Query, num(r.Value), num(r.Below))
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }

// Check asks the query once: ok when every sample is below the threshold; reason says
// the query and its value either way. err says the gate could not be asked.
func (p *Prometheus) Check(ctx context.Context) (ok bool, reason string, err error) {
	r, err := p.Measure(ctx)
	if err != nil {
		return false, "", err
	}
	return r.OK, r.String(), nil
}

// Measure asks the query once and returns the reading.
func (p *Prometheus) Measure(ctx context.Context) (Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	now := time.Now()
	v, _, _, err := p.api.Query(ctx, p.query, now)
	if err != nil {
		return Reading{}, fmt.Errorf("prometheus gate: query `%s` at %s: %w", p.query, p.url, err)
	}
	r := Reading{Query: p.query, Below: p.below, At: now, OK: true}
	add := func(f float64) {
		if math.IsNaN(f) { // 0/0: a ratio with no traffic
			return
		}
		if r.Samples == 0 || f > r.Value {
			r.Value = f
		}
		r.Samples++
	}
	switch val := v.(type) {
	case model.Vector:
		for _, s := range val {
			add(float64(s.Value))
		}
	case *model.Scalar:
		add(float64(val.Value))
	default:
		return Reading{}, fmt.Errorf("prometheus gate: query `%s` returned a %s; write one that returns an instant vector or a scalar", p.query, v.Type())
	}
	r.OK = r.Samples == 0 || r.Value < p.below
	return r, nil
}
