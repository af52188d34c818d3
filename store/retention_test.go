package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// fill writes records as Add would, in one transaction (Add syncs each one).
func fill(tb testing.TB, s *Store[plan], rs []rec) []uint64 {
	tb.Helper()
	ids := make([]uint64, len(rs))
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRollouts)
		for i, r := range rs {
			id, err := b.NextSequence()
			if err != nil {
				return err
			}
			r.ID, ids[i] = id, id
			v, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if err := b.Put(key(id), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}

// history returns n ended records per workload, interleaved and a minute apart from t0.
func history(workloads []string, n int, t0 time.Time) []rec {
	var rs []rec
	for i := range n {
		for _, w := range workloads {
			at := t0.Add(time.Duration(len(rs)) * time.Minute)
			rs = append(rs, rec{Workload: w, From: "r/app:1", To: "r/app:1@sha256:" + strings.Repeat("a", 64),
				Trigger: "poll", Started: at, Ended: at.Add(30 * time.Second), Outcome: succeeded, Reason: fmt.Sprint("rollout ", i)})
		}
	}
	return rs
}

func openTemp(tb testing.TB) *Store[plan] {
	tb.Helper()
	s, err := Open[plan](tb.TempDir(), false)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// kept counts the stored records of each workload and returns the ids kept.
func kept(t *testing.T, s *Store[plan]) (map[string]int, map[uint64]bool) {
	t.Helper()
	rs, err := s.Rollouts("", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	count, ids := map[string]int{}, map[uint64]bool{}
	for _, r := range rs {
		count[r.Workload]++
		ids[r.ID] = true
	}
	return count, ids
}

// keep: 1000 leaves each workload its newest 1000 records, plus the old ones a restarted
// hoist needs (still running) or a quarantine refers to.
func TestPruneKeepsNewestPerWorkload(t *testing.T) {
	s := openTemp(t)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	workloads := []string{"service/web", "service/api", "container/db"}
	// The oldest records: one still running, one a quarantine refers to, one ordinary.
	old := fill(t, s, []rec{
		{Workload: "service/web", Started: t0.Add(-time.Hour), Outcome: Running, Phase: PhaseWatching},
		{Workload: "service/api", Started: t0.Add(-time.Hour), Ended: t0.Add(-50 * time.Minute), Outcome: rolledBack},
		{Workload: "service/web", Started: t0.Add(-time.Hour), Ended: t0.Add(-50 * time.Minute), Outcome: succeeded},
	})
	running, quarantined, ordinary := old[0], old[1], old[2]
	if err := s.Quarantine(Quarantine{Workload: "service/api", Digest: "sha256:bad", Since: t0, Rollout: quarantined}); err != nil {
		t.Fatal(err)
	}
	fill(t, s, history(workloads, 1500, t0))
	small := fill(t, s, history([]string{"service/small"}, 10, t0.Add(time.Hour)))

	n, err := s.Prune(Retention{PerWorkload: 1000}, t0.Add(1000*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3*500 + 1; n != want {
		t.Errorf("dropped %d records, want %d", n, want)
	}
	count, ids := kept(t, s)
	for _, w := range workloads {
		want := 1000
		if w != "container/db" {
			want++ // the running or quarantined record besides the newest 1000
		}
		if count[w] != want {
			t.Errorf("%s: %d records kept, want %d", w, count[w], want)
		}
	}
	if count["service/small"] != 10 || !ids[small[0]] {
		t.Errorf("a workload with fewer records than keep lost some: %d", count["service/small"])
	}
	if !ids[running] || !ids[quarantined] || ids[ordinary] {
		t.Errorf("running kept %v, quarantined kept %v, ordinary old record kept %v", ids[running], ids[quarantined], ids[ordinary])
	}
	// Each workload keeps its newest: the 1000 most recent ids of service/web.
	rs, _ := s.Rollouts("service/web", 1000)
	if rs[0].Reason != "rollout 1499" || rs[999].Reason != "rollout 500" {
		t.Errorf("newest kept %q … %q, want rollout 1499 … rollout 500", rs[0].Reason, rs[999].Reason)
	}
	if n, err := s.Prune(Retention{PerWorkload: 1000}, t0.Add(1000*time.Hour)); n != 0 || err != nil {
		t.Errorf("second prune: %d %v, want nothing left to drop", n, err)
	}

	// Once the quarantine is cleared its record is history like any other.
	if _, err := s.ClearQuarantine("service/api"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Prune(Retention{PerWorkload: 1000}, t0); n != 1 {
		t.Errorf("after clearing the quarantine: dropped %d, want 1", n)
	}
}

// keep: 90d drops the records that ended more than 90 days ago, however many there are.
func TestPruneByAge(t *testing.T) {
	s := openTemp(t)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	ids := fill(t, s, []rec{
		{Workload: "service/web", Started: t0, Ended: t0.Add(time.Minute), Outcome: succeeded},                                // old
		{Workload: "service/web", Started: t0.Add(time.Hour), Outcome: Running},                                               // old, running
		{Workload: "service/api", Started: t0.Add(2 * time.Hour), Ended: t0.Add(3 * time.Hour), Outcome: failed},              // old, quarantined
		{Workload: "service/api", Started: t0.Add(9 * day), Ended: t0.Add(9 * day), Outcome: skipped},                         // old
		{Workload: "service/web", Started: t0.Add(10*day - time.Hour), Ended: t0.Add(10*day + time.Hour), Outcome: succeeded}, // ended inside
		{Workload: "service/web", Started: t0.Add(50 * day), Ended: t0.Add(50 * day), Outcome: succeeded},                     // young
	})
	s.Quarantine(Quarantine{Workload: "service/api", Digest: "sha256:bad", Rollout: ids[2]})

	n, err := s.Prune(Retention{MaxAge: 90 * day}, t0.Add(100*day))
	if err != nil || n != 2 {
		t.Fatalf("prune: %d %v, want 2", n, err)
	}
	_, have := kept(t, s)
	for i, want := range []bool{false, true, true, false, true, true} {
		if have[ids[i]] != want {
			t.Errorf("record %d kept %v, want %v", i, have[ids[i]], want)
		}
	}
	if n, _ := s.Prune(Retention{}, t0.Add(1000*day)); n != 0 {
		t.Errorf("the zero Retention dropped %d records", n)
	}
}

// One prune drops at most pruneBatch records; the next ones go on.
func TestPruneBounded(t *testing.T) {
	defer func(n int) { pruneBatch = n }(pruneBatch)
	pruneBatch = 100
	s := openTemp(t)
	fill(t, s, history([]string{"service/web"}, 350, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)))
	var got []int
	for range 5 {
		n, err := s.Prune(Retention{PerWorkload: 100}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if fmt.Sprint(got) != "[100 100 50 0 0]" {
		t.Errorf("dropped per call %v, want [100 100 50 0 0]", got)
	}
	if c, _ := kept(t, s); c["service/web"] != 100 {
		t.Errorf("%d records kept, want 100", c["service/web"])
	}
}

// A record's workload is read from its first bytes when json.Marshal wrote it, and
// decoded in full otherwise; a record that is not JSON is kept, unjudged.
func TestWorkloadOf(t *testing.T) {
	marshal := func(r rec) string { v, _ := json.Marshal(r); return string(v) }
	for _, tc := range []struct {
		record, want string
		ok           bool
	}{
		{marshal(rec{ID: 42, Workload: "service/web", Reason: `"workload":"service/other"`}), "service/web", true},
		{marshal(rec{ID: 1, Workload: "container/a<b>&c"}), "container/a<b>&c", true}, // escaped by json.Marshal
		{marshal(rec{ID: 1, Workload: "service/wéb"}), "service/wéb", true},
		{`{"workload":"service/api","id":7}`, "service/api", true},
		{`{"id":7, "workload":"service/api"}`, "service/api", true},
		{`{"id":7,"workload":"service/a\"b"}`, `service/a"b`, true},
		{`not json`, "", false},
	} {
		got, ok := workloadOf([]byte(tc.record))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %q %v, want %q %v", tc.record, got, ok, tc.want, tc.ok)
		}
	}

	s := openTemp(t)
	ids := fill(t, s, history([]string{"service/web"}, 3, time.Now()))
	s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketRollouts).Put(key(ids[0]), []byte("not json")) })
	if n, err := s.Prune(Retention{PerWorkload: 1}, time.Now()); n != 1 || err != nil {
		t.Errorf("prune: %d %v, want 1 (the unreadable record kept)", n, err)
	}
	if n, err := s.Prune(Retention{MaxAge: time.Hour}, time.Now().Add(1000*time.Hour)); n != 1 || err != nil {
		t.Errorf("prune by age: %d %v, want 1 (the unreadable record kept)", n, err)
	}
}

// A log tail over maxLogBytes keeps its end, from a line start, says what was cut and
// never splits a character.
func TestCapLogs(t *testing.T) {
	if capLogs("") != "" || capLogs("short\n") != "short\n" {
		t.Fatal("short logs must be kept as they are")
	}
	exact := strings.Repeat("x", maxLogBytes)
	if capLogs(exact) != exact {
		t.Fatal("a log of exactly maxLogBytes must be kept")
	}

	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "line %06d: ünïcødé ✓ —\n", i)
	}
	b.WriteString("panic: the last line")
	big := b.String()
	got := capLogs(big)
	if len(got) > maxLogBytes || len(got) < maxLogBytes-1<<10 {
		t.Errorf("capped to %d bytes, want at most %d and close to it", len(got), maxLogBytes)
	}
	if !utf8.ValidString(got) {
		t.Error("capped log is not valid UTF-8")
	}
	if !strings.HasSuffix(got, "panic: the last line") {
		t.Error("the end of the log was lost")
	}
	head, rest, _ := strings.Cut(got, "\n")
	if want := fmt.Sprintf("… (%d bytes cut)", len(big)-len(rest)); head != want {
		t.Errorf("first line %q, want %q", head, want)
	}
	if !strings.HasPrefix(rest, "line ") || !strings.HasSuffix(big, rest) {
		t.Errorf("the kept part must be the log's end from a line start: %.40q", rest)
	}

	// One line of multi-byte characters: no line start to cut at, still no split rune.
	long := strings.Repeat("✓", 1<<20)
	got = capLogs(long)
	if !utf8.ValidString(got) || len(got) > maxLogBytes || !strings.HasSuffix(long, got[strings.IndexByte(got, '\n')+1:]) {
		t.Errorf("multi-byte line: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}

// Add and Put cap the log tail they write.
func TestStoreCapsLogs(t *testing.T) {
	s := openTemp(t)
	logs := strings.Repeat("0123456789abcde\n", 1<<16) // 1 MiB
	id, err := s.Add(rec{Workload: "service/web", Outcome: rolledBack, Logs: logs})
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := s.Rollouts("service/web", 1)
	if len(rs[0].Logs) > maxLogBytes || !strings.HasSuffix(logs, rs[0].Logs[strings.IndexByte(rs[0].Logs, '\n')+1:]) {
		t.Errorf("Add stored %d bytes of logs", len(rs[0].Logs))
	}
	if err := s.Put(rec{ID: id, Workload: "service/web", Outcome: rolledBack, Logs: logs + "the end"}); err != nil {
		t.Fatal(err)
	}
	rs, _ = s.Rollouts("service/web", 1)
	if len(rs[0].Logs) > maxLogBytes || !strings.HasSuffix(rs[0].Logs, "\nthe end") || !strings.HasPrefix(rs[0].Logs, "… (") {
		t.Errorf("Put stored %d bytes of logs", len(rs[0].Logs))
	}
}

// BenchmarkPrune: the cost of the prune serve runs every minute. steady is a store
// already within keep (a full scan, nothing to drop); drop removes 500 of 1500 records
// per workload.
func BenchmarkPrune(b *testing.B) {
	workloads := make([]string, 50)
	for i := range workloads {
		workloads[i] = fmt.Sprintf("service/app-%02d", i)
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b.Run("steady", func(b *testing.B) {
		s := openTemp(b)
		fill(b, s, history(workloads, 1000, t0))
		b.ResetTimer()
		for range b.N {
			if n, err := s.Prune(Retention{PerWorkload: 1000}, t0); n != 0 || err != nil {
				b.Fatal(n, err)
			}
		}
		b.ReportMetric(float64(len(workloads)*1000*b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("drop", func(b *testing.B) {
		s := openTemp(b)
		dropped := 0
		for range b.N {
			b.StopTimer()
			s.db.Update(func(tx *bolt.Tx) error {
				tx.DeleteBucket(bucketRollouts)
				_, err := tx.CreateBucket(bucketRollouts)
				return err
			})
			fill(b, s, history(workloads[:10], 1500, t0))
			b.StartTimer()
			n, err := s.Prune(Retention{PerWorkload: 1000}, t0)
			if err != nil {
				b.Fatal(err)
			}
			dropped += n
		}
		b.ReportMetric(float64(dropped)/b.Elapsed().Seconds(), "dropped/s")
	})
}
