package wake

import (
	"testing"
	"time"
)

func TestEvery(t *testing.T) {
	for _, c := range []struct {
		d         time.Duration
		connected bool
		want      time.Duration
	}{
		{200 * time.Millisecond, false, 200 * time.Millisecond}, // no stream: the poll as asked
		{200 * time.Millisecond, true, CrossCheck},              // the stream wakes it: a cross-check
		{5 * time.Second, true, 5 * time.Second},                // never more often than asked
	} {
		if got := Every(c.d, c.connected); got != c.want {
			t.Errorf("Every(%s, %t) = %s, want %s", c.d, c.connected, got, c.want)
		}
	}
}
