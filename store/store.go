package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketRollouts   = []byte("rollouts")
	bucketQuarantine = []byte("quarantine")
	bucketSeen       = []byte("seen")
	bucketApproved   = []byte("approved")
)

// Store keeps rollouts and quarantines in a bbolt file; it survives restarts. P is the
// plan type of its records.
type Store[P Plan] struct{ db *bolt.DB }

// lockWait is how long Open waits for another process to let go of the store.
const lockWait = time.Second

// Open opens (or creates) dir/hoist.db. readOnly opens it shared, for tools that
// run beside a serving hoist. When another process holds it (a serving hoist holds it
// whole; a reader holds off a writer), it fails after a second with a
// *InUseError naming that process when the system tells.
func Open[P Plan](dir string, readOnly bool) (*Store[P], error) {
	if !readOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data_dir %s: %w", dir, err)
		}
	}
	path := filepath.Join(dir, "hoist.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockWait, ReadOnly: readOnly})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, &InUseError{Dir: dir, PID: holder(path)}
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store[P]{db: db}
	if readOnly {
		return s, nil
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRollouts, bucketQuarantine, bucketSeen, bucketApproved} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init store %s: %w", path, err)
	}
	return s, nil
}

// Close closes the file.
func (s *Store[P]) Close() error { return s.db.Close() }

func key(id uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, id)
	return b
}

// Begin records a rollout that starts now and returns its id.
func (s *Store[P]) Begin(r Rollout[P]) (uint64, error) {
	r.Outcome = Running
	return s.Add(r)
}

// Add writes a new record as given, ended or not, in one transaction, and returns its
// ID: a reader never sees a note that ended at once as "running" first.
func (s *Store[P]) Add(r Rollout[P]) (uint64, error) {
	r.Logs = capLogs(r.Logs)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRollouts)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		r.ID = id
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return b.Put(key(id), v)
	})
	return r.ID, err
}

// Put writes a whole rollout record (used to end one).
func (s *Store[P]) Put(r Rollout[P]) error { return s.PutQuarantined(r, nil) }

// PutQuarantined stores r and, when q is not nil, quarantines q's digest, in one
// transaction: a hoist killed in between cannot leave a rollout ended as rolled back
// with its digest free to be rolled out again.
func (s *Store[P]) PutQuarantined(r Rollout[P], q *Quarantine) error {
	r.Logs = capLogs(r.Logs)
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	var qv []byte
	if q != nil {
		if qv, err = json.Marshal(q); err != nil {
			return err
		}
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if qv != nil {
			if err := tx.Bucket(bucketQuarantine).Put([]byte(digestKey(q.Workload, q.Digest)), qv); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketRollouts).Put(key(r.ID), v)
	})
}

// Rollouts returns the newest rollouts first, for one workload or all ("").
func (s *Store[P]) Rollouts(workload string, limit int) ([]Rollout[P], error) {
	if limit <= 0 {
		limit = 100
	}
	var out []Rollout[P]
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRollouts)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var r Rollout[P]
			if err := json.Unmarshal(v, &r); err != nil {
				continue
			}
			if workload == "" || r.Workload == workload {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}

// Unfinished returns the records a previous process left running, oldest first.
func (s *Store[P]) Unfinished() ([]Rollout[P], error) {
	var out []Rollout[P]
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRollouts).ForEach(func(k, v []byte) error {
			var r Rollout[P]
			if json.Unmarshal(v, &r) == nil && r.Outcome == Running {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}

// Get returns one record.
func (s *Store[P]) Get(id uint64) (Rollout[P], error) {
	var r Rollout[P]
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRollouts).Get(key(id))
		if v == nil {
			return fmt.Errorf("rollout %d: not in the store", id)
		}
		return json.Unmarshal(v, &r)
	})
	return r, err
}
