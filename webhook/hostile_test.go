package webhook

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hostile deliveries: authenticated bodies within limits.max_body built to expand
// when decoded, floods of them, and senders that hold the memory budget.

// repeated is open + n copies of item joined by "," + closing.
func repeated(open, item, closing string, n int) []byte {
	var b bytes.Buffer
	b.Grow(len(open) + n*(len(item)+1) + len(closing))
	b.WriteString(open)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(item)
	}
	b.WriteString(closing)
	return b.Bytes()
}

// distEvents is a Distribution envelope of n tag pushes of 127.0.0.1:5000/app, each
// padded to about pad bytes.
func distEvents(n, pad int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"events":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"ev-%d","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"app","tag":"t%d","url":"http://127.0.0.1:5000/v2/app/manifests/t%d"},"request":{"host":"127.0.0.1:5000","useragent":"%s"}}`,
			i, i, i, strings.Repeat("x", max(pad-230, 0)))
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func TestHostileBodies(t *testing.T) {
	empties := append(repeated(`{"events":[`, `{}`, `]}`, 349000), '\n')
	if len(empties) != 1047013 {
		t.Fatalf("the 349,000-event body is %d bytes, want 1,047,013 (the reported case)", len(empties))
	}
	wide := func(n int) []byte { return repeated(`{"extra":[`, `0`, `]}`, n) }
	cases := []struct {
		name, source string
		body         []byte
		status       int
		maxAlloc     uint64 // bytes the request may allocate; 0: not checked
	}{
		{"349,000 empty Distribution events", "distribution", empties, http.StatusUnprocessableEntity, 4 << 20},
		{"1,001 Distribution events", "distribution", distEvents(1001, 0), http.StatusUnprocessableEntity, 0},
		{"1,000 Distribution events", "distribution", distEvents(1000, 0), http.StatusAccepted, 0},
		{"Harbor with 80,000 resources", "harbor", repeated(`{"type":"PUSH_ARTIFACT","event_data":{"resources":[`, `{"tag":"a"}`, `]}}`, 80000), http.StatusUnprocessableEntity, 4 << 20},
		{"Quay with 100,000 legacy tags", "quay", []byte(`{"repository":"a/b","updated_tags":` + string(repeated(`{`, `"t":0`, `}`, 100000)) + `}`), http.StatusUnprocessableEntity, 4 << 20},
		{"Quay with 100,000 listed tags", "quay", []byte(`{"repository":"a/b","updated_tags":` + string(repeated(`[`, `"t"`, `]`, 100000)) + `}`), http.StatusUnprocessableEntity, 4 << 20},
		{"brackets inside strings are not counted", "distribution", []byte(`{"events":[{"id":"` + strings.Repeat(`,[\"`, 5000) + `"}]}`), http.StatusAccepted, 0},
		{"nested 20,000 deep", "generic", []byte(`{"image":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`), http.StatusBadRequest, 0},
	}
	for _, src := range []string{"dockerhub", "distribution", "ghcr", "quay", "harbor", "gitea", "acr", "jfrog", "gar", "ecr", "generic"} {
		cases = append(cases, struct {
			name, source string
			body         []byte
			status       int
			maxAlloc     uint64
		}{src + ": an extra list of 300,000 entries", src, wide(300000), http.StatusUnprocessableEntity, 4 << 20})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, allSources())
			req := validRequest(c.source, c.body)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			w := h.do(req)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if w.Code != c.status {
				t.Fatalf("%d %s, want %d", w.Code, w.Body, c.status)
			}
			if w.Code >= 400 && w.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", w.Header().Get("Content-Type"))
			}
			if took > 2*time.Second {
				t.Errorf("took %s, want < 2 s", took)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			if c.maxAlloc > 0 && alloc > c.maxAlloc {
				t.Errorf("the request allocated %d bytes, want at most %d", alloc, c.maxAlloc)
			}
			t.Logf("%d bytes: %d in %s, %.1f MiB allocated", len(c.body), w.Code, took, float64(alloc)/(1<<20))
		})
	}
}

// TestHostileDeliveryLogsOneLine: a delivery of many events writes one log line.
func TestHostileDeliveryLogsOneLine(t *testing.T) {
	h := newHarness(t, allSources())
	if w := h.do(validRequest("distribution", distEvents(1000, 0))); w.Code != http.StatusAccepted {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	lines := strings.Count(h.logs.String(), "\n")
	if lines != 1 || !strings.Contains(h.logs.String(), `"events":1000`) || !strings.Contains(h.logs.String(), `"enqueued":1000`) {
		t.Errorf("%d log lines, want one with the counts:\n%.2000s", lines, h.logs)
	}
}

// TestHostileBudgetRefuses: a delivery that finds the memory budget spent waits, then
// is refused with 503 and Retry-After; it is admitted once the budget comes free.
func TestHostileBudgetRefuses(t *testing.T) {
	h := newHarness(t, allSources())
	// A chunked body that never ends reserves a whole max_body, which is the budget
	// at its floor (one delivery of max_body).
	h.s.mem = newBudget(bodyCost * h.s.table.Load().maxBody)
	pr, pw := io.Pipe()
	slow := validRequest("distribution", nil)
	slow.Body, slow.ContentLength = pr, -1
	done := make(chan int)
	go func() { done <- h.do(slow).Code }()
	waitUntil(t, func() bool { h.s.mem.mu.Lock(); defer h.s.mem.mu.Unlock(); return h.s.mem.free == 0 })
	start := time.Now()
	w := h.do(validRequest("distribution", distEvents(1, 0)))
	took := time.Since(start)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("%d %v %s, want 503 problem with Retry-After", w.Code, w.Header(), w.Body)
	}
	if took < budgetWait/2 || took > 2*time.Second {
		t.Errorf("refused after %s, want about %s", took, budgetWait)
	}
	pw.Write(distEvents(1, 0))
	pw.Close()
	if code := <-done; code != http.StatusAccepted {
		t.Errorf("the slow delivery: %d", code)
	}
	if w := h.do(validRequest("distribution", distEvents(1, 0))); w.Code != http.StatusAccepted {
		t.Errorf("after the budget came free: %d %s", w.Code, w.Body)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHostileBurst: 50 authenticated deliveries at the cap, each near 1 MiB, sent at
// once over HTTP to the router. Each is answered 202 or 503, and the process's memory
// stays under 200 MB, read from its own counters while the burst runs.
func TestHostileBurst(t *testing.T) {
	const parallel, limit = 50, 200 << 20
	h := newHarness(t, allSources())
	srv := httptest.NewServer(h.e)
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: parallel}, Timeout: 30 * time.Second}
	body := distEvents(MaxEvents, 1040)
	if len(body) < 1000<<10 || len(body) > 1<<20 {
		t.Fatalf("body is %d bytes, want near 1 MiB", len(body))
	}
	runtime.GC()
	resetPeakRSS()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop, peak := sampleMemory()
	var wg sync.WaitGroup
	codes := make([]int, parallel)
	took := make([]time.Duration, parallel)
	start := time.Now()
	for i := range parallel {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/distribution", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			t0 := time.Now()
			res, err := client.Do(req)
			took[i] = time.Since(t0)
			if err != nil {
				t.Errorf("delivery %d: %v", i, err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			codes[i] = res.StatusCode
		})
	}
	wg.Wait()
	total := time.Since(start)
	p := stop()
	<-peak
	counts := map[int]int{}
	slowest := time.Duration(0)
	for i, c := range codes {
		counts[c]++
		slowest = max(slowest, took[i])
		if c != http.StatusAccepted && c != http.StatusRequestEntityTooLarge && c != http.StatusServiceUnavailable {
			t.Errorf("delivery %d: %d, want 202, 413 or 503", i, c)
		}
	}
	hwm := peakRSS()
	t.Logf("%d deliveries of %d bytes in %s (slowest %s): %v; heap in use %d → peak %d MiB, Go sys peak %d MiB, VmHWM %d MiB",
		parallel, len(body), total, slowest, counts, base.HeapInuse>>20, p.heapInuse>>20, p.sys>>20, hwm>>20)
	if counts[http.StatusAccepted] == 0 {
		t.Error("no delivery was admitted")
	}
	if p.sys > limit || p.heapInuse > limit {
		t.Errorf("memory peaked at %d MiB obtained from the OS (%d MiB heap in use), want under %d MiB", p.sys>>20, p.heapInuse>>20, limit>>20)
	}
	if hwm > limit {
		t.Errorf("VmHWM %d MiB, want under %d MiB", hwm>>20, limit>>20)
	}
	if slowest > budgetWait+3*time.Second {
		t.Errorf("slowest answer took %s", slowest)
	}
}

type memPeak struct{ heapInuse, sys uint64 }

// sampleMemory reads the runtime's counters every few milliseconds until stop is
// called, which returns the peaks.
func sampleMemory() (stop func() memPeak, done <-chan struct{}) {
	quit, fin := make(chan struct{}), make(chan struct{})
	var p memPeak
	go func() {
		defer close(fin)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			p.heapInuse, p.sys = max(p.heapInuse, m.HeapInuse), max(p.sys, m.Sys)
			select {
			case <-quit:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() memPeak { close(quit); <-fin; return p }, fin
}

// resetPeakRSS restarts the kernel's high-water mark of the process's resident set
// (Linux; elsewhere peakRSS reports 0).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM from /proc/self/status, in bytes.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
