package updater

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

// Rollout is the record of one rollout.
type Rollout struct {
	ID       uint64    `json:"id"`
	Workload string    `json:"workload"` // kind/name
	From     string    `json:"from"`     // image before
	To       string    `json:"to"`       // pinned target image
	Trigger  string    `json:"trigger"`  // poll, dockerhub, distribution, api, ...
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
	Outcome  Outcome   `json:"outcome,omitempty"` // empty while running
	Reason   string    `json:"reason,omitempty"`
	// SignedBy names who signed the target, when its policy verifies signatures.
	SignedBy []string `json:"signed_by,omitempty"`
	Order    string   `json:"order,omitempty"`
	Logs     string   `json:"logs,omitempty"`

	// Phase is how far the rollout came; each change is written before hoist acts on it.
	Phase   Phase     `json:"phase,omitempty"`
	PhaseAt time.Time `json:"phase_at,omitzero"`
	// Phases is every phase entered, in order (see PhaseMark).
	Phases []PhaseMark `json:"phases,omitempty"`
	// Plan is what the rollout was to follow (kept so a restarted hoist follows it too).
	Plan *Plan `json:"plan,omitempty"`
	// Deadline bounds the rollout, watch included; WatchUntil is when the watch ends.
	Deadline   time.Time `json:"deadline,omitzero"`
	WatchUntil time.Time `json:"watch_until,omitzero"`
	// Restarts counts the hoist processes that stopped while this rollout ran.
	Restarts int `json:"restarts,omitempty"`
}

// Running is the outcome shown for a rollout that has not ended.
const Running Outcome = "running"

// Quarantine records a digest that failed for a workload.
type Quarantine struct {
	Workload string    `json:"workload"`
	Digest   string    `json:"digest"`
	Since    time.Time `json:"since"`
	Reason   string    `json:"reason"`
	Rollout  uint64    `json:"rollout"`
}

// RolloutReader is the read half of the store, for the API and CLI.
type RolloutReader interface {
	Rollouts(workload string, limit int) ([]Rollout, error)
	Quarantines(workload string) ([]Quarantine, error)
}

// Store keeps rollouts and quarantines in a bbolt file; it survives restarts.
type Store struct{ db *bolt.DB }

// storeLockWait is how long OpenStore waits for another process to let go of the store.
const storeLockWait = time.Second

// OpenStore opens (or creates) dir/hoist.db. readOnly opens it shared, for tools that
// run beside a serving hoist. When another process holds it (a serving hoist holds it
// whole; a reader holds off a writer), it fails after a second with a
// *StoreInUseError naming that process when the system tells.
func OpenStore(dir string, readOnly bool) (*Store, error) {
	if !readOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data_dir %s: %w", dir, err)
		}
	}
	path := filepath.Join(dir, "hoist.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: storeLockWait, ReadOnly: readOnly})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, &StoreInUseError{Dir: dir, PID: storeHolder(path)}
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db}
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
func (s *Store) Close() error { return s.db.Close() }

func key(id uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, id)
	return b
}

// Begin records a rollout that starts now and returns its id.
func (s *Store) Begin(r Rollout) (uint64, error) {
	r.Outcome = Running
	return s.Add(r)
}

// Add writes a new record as given, ended or not, in one transaction, and returns its
// ID: a reader never sees a note that ended at once as "running" first.
func (s *Store) Add(r Rollout) (uint64, error) {
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
func (s *Store) Put(r Rollout) error { return s.PutQuarantined(r, nil) }

// PutQuarantined stores r and, when q is not nil, quarantines q's digest, in one
// transaction: a hoist killed in between cannot leave a rollout ended as rolled back
// with its digest free to be rolled out again.
func (s *Store) PutQuarantined(r Rollout, q *Quarantine) error {
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
func (s *Store) Rollouts(workload string, limit int) ([]Rollout, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []Rollout
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRollouts)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var r Rollout
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

// Quarantine marks digest as failed for workload.
func (s *Store) Quarantine(q Quarantine) error {
	return s.put(bucketQuarantine, digestKey(q.Workload, q.Digest), q)
}

// IsQuarantined reports whether digest failed for workload before.
func (s *Store) IsQuarantined(workload, digest string) (bool, error) {
	return s.has(bucketQuarantine, digestKey(workload, digest))
}

// digestKey is the key of a workload's digest in the quarantine and approval buckets.
func digestKey(workload, digest string) string { return workload + "@" + digest }

// put stores v as JSON under key in bucket.
func (s *Store) put(bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(key), b) })
}

// has reports whether bucket holds key (a store written by an older hoist may lack the
// bucket: then it holds nothing).
func (s *Store) has(bucket []byte, key string) (bool, error) {
	var hit bool
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		hit = b != nil && b.Get([]byte(key)) != nil
		return nil
	})
	return hit, err
}

// Quarantines lists quarantined digests for one workload or all ("").
func (s *Store) Quarantines(workload string) ([]Quarantine, error) {
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
func (s *Store) ClearQuarantine(workload string) (int, error) {
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

// FirstSeen returns when hoist first saw a digest of a repository ("repo@sha256:…"),
// remembering now when it never did. A read-only store answers now for a digest it
// does not know.
func (s *Store) FirstSeen(digestRef string, now time.Time) (time.Time, error) {
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
func (s *Store) ForgetSeen(before time.Time) (int, error) {
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

// Approval records that an operator let a digest roll out to a workload.
type Approval struct {
	Workload string    `json:"workload"`
	Digest   string    `json:"digest"`
	At       time.Time `json:"at"`
}

// Approve records an approval.
func (s *Store) Approve(a Approval) error {
	return s.put(bucketApproved, digestKey(a.Workload, a.Digest), a)
}

// IsApproved reports whether digest was approved for workload.
func (s *Store) IsApproved(workload, digest string) (bool, error) {
	return s.has(bucketApproved, digestKey(workload, digest))
}
