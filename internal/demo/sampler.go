package demo

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Sampler GETs a URL a few times a second, each time on a new connection, and counts
// the answers: the demo's availability figure.
type Sampler struct {
	url    string
	client *http.Client
	stop   context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	av   Availability
	last string
}

// Availability is what a Sampler measured.
type Availability struct {
	Sampled, Answered int
	// Misses are the times of the requests that got no 2xx answer within a second.
	Misses []time.Time
	// Since and Until bound the sampling.
	Since, Until time.Time
}

// Ratio is the answered share, 0 to 1 (1 with no samples).
func (a Availability) Ratio() float64 {
	if a.Sampled == 0 {
		return 1
	}
	return float64(a.Answered) / float64(a.Sampled)
}

// StartSampler GETs url every interval until Stop.
func StartSampler(ctx context.Context, url string, every time.Duration) *Sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{
		url:    url,
		client: &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
		stop:   cancel, done: make(chan struct{}),
	}
	s.av.Since = time.Now()
	go s.loop(ctx, every)
	return s
}

func (s *Sampler) loop(ctx context.Context, every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Sampler) sample(ctx context.Context) {
	at := time.Now()
	answer, ok := "", false
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err == nil {
		resp, err := s.client.Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
			resp.Body.Close()
			ok = resp.StatusCode < 300
			answer = strings.TrimSpace(string(b))
		}
	}
	if ctx.Err() != nil {
		return // stopped mid-request: not a miss
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.av.Sampled++
	if ok {
		s.av.Answered++
		s.last = answer
	} else {
		s.av.Misses = append(s.av.Misses, at)
	}
}

// Now returns the figures so far and the last answer.
func (s *Sampler) Now() (Availability, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.av
	a.Misses = append([]time.Time(nil), a.Misses...)
	a.Until = time.Now()
	return a, s.last
}

// Stop ends the sampling and returns the figures.
func (s *Sampler) Stop() Availability {
	s.stop()
	<-s.done
	a, _ := s.Now()
	return a
}
