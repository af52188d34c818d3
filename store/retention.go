package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Retention says which rollout records Prune keeps. The zero value keeps everything.
// A record of a rollout still running (a restarted hoist resumes it) or one a quarantine
// refers to is always kept.
type Retention struct {
	// PerWorkload keeps the newest records of each workload, this many.
	PerWorkload int
	// MaxAge keeps records that ended less than this long ago (used when PerWorkload is 0).
	MaxAge time.Duration
}

// pruneBatch bounds the records one Prune drops, so that the first prune of a large
// store does not hold the write lock for long; the next call goes on.
var pruneBatch = 10000

// retained is the part of a record Prune reads.
type retained struct {
	Workload string    `json:"workload"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended"`
	Outcome  Outcome   `json:"outcome"`
}

// Prune drops the rollout records keep does not cover, in one transaction, and returns
// how many. bbolt reuses the freed pages; the file does not shrink.
func (s *Store[P]) Prune(keep Retention, now time.Time) (int, error) {
	if keep.PerWorkload <= 0 && keep.MaxAge <= 0 {
		return 0, nil
	}
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		held, err := quarantinedRollouts(tx)
		if err != nil {
			return err
		}
		var drop [][]byte
		if keep.PerWorkload > 0 {
			drop = beyondCount(tx.Bucket(bucketRollouts), keep.PerWorkload, held)
		} else {
			drop = olderThan(tx.Bucket(bucketRollouts), now.Add(-keep.MaxAge), held)
		}
		b := tx.Bucket(bucketRollouts)
		for _, k := range drop {
			if err := b.Delete(k); err != nil {
				return fmt.Errorf("drop rollout %d: %w", binary.BigEndian.Uint64(k), err)
			}
		}
		n = len(drop)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune rollout history: %w", err)
	}
	return n, nil
}

// beyondCount walks newest first and returns the keys of each workload's records past
// the newest count, running and quarantined ones left out.
func beyondCount(b *bolt.Bucket, count int, held map[uint64]bool) [][]byte {
	var drop [][]byte
	seen := map[string]int{}
	c := b.Cursor()
	for k, v := c.Last(); k != nil && len(drop) < pruneBatch; k, v = c.Prev() {
		w, ok := workloadOf(v)
		if !ok {
			continue // kept: a record hoist cannot read is not its to judge
		}
		seen[w]++
		if seen[w] <= count {
			continue
		}
		var r retained
		if json.Unmarshal(v, &r) == nil && !r.protected(k, held) {
			drop = append(drop, append([]byte{}, k...))
		}
	}
	return drop
}

// workloadOf reads a record's workload without decoding the rest: json.Marshal writes a
// Rollout's id and workload first. A record written otherwise, or a workload with an
// escape in it, is decoded in full.
func workloadOf(v []byte) (string, bool) {
	if rest, ok := bytes.CutPrefix(v, []byte(`{"id":`)); ok {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if w, ok := bytes.CutPrefix(rest[i:], []byte(`,"workload":"`)); ok {
			if end := bytes.IndexByte(w, '"'); end >= 0 && bytes.IndexByte(w[:end], '\\') < 0 {
				return string(w[:end]), true
			}
		}
	}
	var r retained
	if json.Unmarshal(v, &r) != nil {
		return "", false
	}
	return r.Workload, true
}

// olderThan walks oldest first and returns the keys of records that ended before
// cutoff, running and quarantined ones left out. It stops at the first record started
// after cutoff: ids grow with start times, so every later record is younger.
func olderThan(b *bolt.Bucket, cutoff time.Time, held map[uint64]bool) [][]byte {
	var drop [][]byte
	c := b.Cursor()
	for k, v := c.First(); k != nil && len(drop) < pruneBatch; k, v = c.Next() {
		var r retained
		if json.Unmarshal(v, &r) != nil {
			continue
		}
		if r.Started.After(cutoff) {
			break
		}
		end := r.Ended
		if end.IsZero() {
			end = r.Started
		}
		if end.Before(cutoff) && !r.protected(k, held) {
			drop = append(drop, append([]byte{}, k...))
		}
	}
	return drop
}

func (r retained) protected(k []byte, held map[uint64]bool) bool {
	return r.Outcome == Running || held[binary.BigEndian.Uint64(k)]
}

// quarantinedRollouts returns the ids of the records quarantines refer to.
func quarantinedRollouts(tx *bolt.Tx) (map[uint64]bool, error) {
	held := map[uint64]bool{}
	b := tx.Bucket(bucketQuarantine)
	if b == nil {
		return held, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		var q Quarantine
		if err := json.Unmarshal(v, &q); err != nil {
			return fmt.Errorf("quarantine %s: %w", k, err)
		}
		held[q.Rollout] = true
		return nil
	})
	return held, err
}

// maxLogBytes bounds the log tail a record keeps.
const maxLogBytes = 16 << 10

// capLogs keeps the end of a log tail longer than maxLogBytes (the last lines say why
// a container failed), from a line start when one is near and never inside a UTF-8
// sequence, and says first how much was cut. The result is at most maxLogBytes long.
func capLogs(s string) string {
	if len(s) <= maxLogBytes {
		return s
	}
	// The note is never longer than with the whole length in it.
	note := func(cut int) string { return "… (" + strconv.Itoa(cut) + " bytes cut)\n" }
	i := len(s) - (maxLogBytes - len(note(len(s))))
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	if nl := strings.IndexByte(s[i:], '\n'); nl >= 0 && nl < 1<<10 {
		i += nl + 1
	}
	return note(i) + s[i:]
}
