package store

import (
	"encoding/json"
	"errors"

	bolt "go.etcd.io/bbolt"
)

// Quarantine marks digest as failed for workload.
func (s *Store[P]) Quarantine(q Quarantine) error {
	return s.put(bucketQuarantine, digestKey(q.Workload, q.Digest), q)
}

// IsQuarantined reports whether digest failed for workload before.
func (s *Store[P]) IsQuarantined(workload, digest string) (bool, error) {
	return s.has(bucketQuarantine, digestKey(workload, digest))
}

// digestKey is the key of a workload's digest in the quarantine and approval buckets.
func digestKey(workload, digest string) string { return workload + "@" + digest }

// put stores v as JSON under key in bucket.
func (s *Store[P]) put(bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(key), b) })
}

// has reports whether bucket holds key (a store written by an older hoist may lack the
// bucket: then it holds nothing).
func (s *Store[P]) has(bucket []byte, key string) (bool, error) {
	var hit bool
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		hit = b != nil && b.Get([]byte(key)) != nil
		return nil
	})
	return hit, err
}

// Quarantines lists quarantined digests for one workload or all ("").
func (s *Store[P]) Quarantines(workload string) ([]Quarantine, error) {
	var out []Quarantine
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketQuarantine)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var q Quarantine
			if json.Unmarshal(v, &q) == nil && (workload == "" || q.Workload == workload) {
				out = append(out, q)
			}
			return nil
		})
	})
	return out, err
}

// ErrNotQuarantined is returned when there was nothing to clear.
var ErrNotQuarantined = errors.New("nothing quarantined")

// ClearQuarantine drops every quarantined digest of workload.
func (s *Store[P]) ClearQuarantine(workload string) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketQuarantine)
		var keys [][]byte
		b.ForEach(func(k, v []byte) error {
			var q Quarantine
			if json.Unmarshal(v, &q) == nil && q.Workload == workload {
				keys = append(keys, append([]byte{}, k...))
			}
			return nil
		})
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	if err == nil && n == 0 {
		return 0, ErrNotQuarantined
	}
	return n, err
}

// Approve records an approval.
func (s *Store[P]) Approve(a Approval) error {
	return s.put(bucketApproved, digestKey(a.Workload, a.Digest), a)
}

// IsApproved reports whether digest was approved for workload.
func (s *Store[P]) IsApproved(workload, digest string) (bool, error) {
	return s.has(bucketApproved, digestKey(workload, digest))
}
