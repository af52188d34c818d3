package demo

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Off a terminal a live line is printed plainly once it has stood a second; a step
// that ends sooner prints none.
func TestProgressPlain(t *testing.T) {
	var out syncBuf
	p := NewProgress(&out)
	p.Live("quick")
	p.Printf("line %d", 1)
	p.Done()
	p.Live("slow")
	time.Sleep(1300 * time.Millisecond)
	p.Live("slow")
	p.Done()
	p.Printf("line %d", 2)
	if got, want := out.String(), "line 1\n  … slow\nline 2\n"; got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
	if strings.Contains(out.String(), "\r") {
		t.Fatal("terminal control off a terminal")
	}
}
