package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// FirstSeen returns when hoist first saw a digest of a repository ("repo@sha256:…"),
// remembering now when it never did. A read-only store answers now for a digest it
// does not know.
func (s *Store[P]) FirstSeen(digestRef string, now time.Time) (time.Time, error) {
	var seen time.Time
	read := func(tx *bolt.Tx) bool {
		if b := tx.Bucket(bucketSeen); b != nil {
			if v := b.Get([]byte(digestRef)); v != nil && seen.UnmarshalBinary(v) == nil {
				return true
			}
		}
		return false
	}
	var known bool
	if err := s.db.View(func(tx *bolt.Tx) error { known = read(tx); return nil }); err != nil || known {
		return seen, err
	}
	if s.db.IsReadOnly() {
		return now, nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if read(tx) {
			return nil
		}
		seen = now
		v, err := now.MarshalBinary()
		if err != nil {
			return err
		}
		return tx.Bucket(bucketSeen).Put([]byte(digestRef), v)
	})
	return seen, err
}

// ForgetSeen drops first-seen times older than before, and returns how many.
func (s *Store[P]) ForgetSeen(before time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSeen)
		var old [][]byte
		b.ForEach(func(k, v []byte) error {
			var t time.Time
			if t.UnmarshalBinary(v) != nil || t.Before(before) {
				old = append(old, append([]byte{}, k...))
			}
			return nil
		})
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	return n, err
}
