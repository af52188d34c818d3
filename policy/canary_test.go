package policy

import (
	"testing"
	"time"
)

func TestCanaryCount(t *testing.T) {
	for _, tc := range []struct {
		c     Canary
		total int
		want  int
	}{
		{Canary{Tasks: 1}, 10, 1},
		{Canary{Tasks: 3}, 10, 3},
		{Canary{Tasks: 12}, 10, 9}, // something keeps the old digest
		{Canary{Tasks: 1}, 1, 0},   // one task: no canary
		{Canary{Tasks: 1}, 0, 0},
		{Canary{Percent: 10}, 10, 1},
		{Canary{Percent: 10}, 11, 2}, // rounded up
		{Canary{Percent: 1}, 3, 1},   // at least one
		{Canary{Percent: 100}, 4, 3},
		{Canary{Percent: 50}, 2, 1},
	} {
		if got := tc.c.Count(tc.total); got != tc.want {
			t.Errorf("%s of %d: %d, want %d", tc.c, tc.total, got, tc.want)
		}
	}
}

func TestCanaryHoldFor(t *testing.T) {
	var none *Canary
	if none.HoldFor() != 0 {
		t.Fatal("a nil canary holds nothing")
	}
	if (&Canary{Tasks: 1, Hold: time.Minute}).HoldFor() != time.Minute {
		t.Fatal("hold not reported")
	}
}
