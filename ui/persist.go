package ui

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// savedSession is a session as the sessions file keeps it: by the HMAC of its id
// (keyed with api.token), so the file holds no cookie that would log anyone in, and a
// new token matches none of them.
type savedSession struct {
	CSRF    string    `json:"csrf"`
	Expires time.Time `json:"expires"`
}

// load reads the sessions a previous process saved, dropping the expired ones. A
// missing file is no sessions.
func (s *sessions) load() error {
	if s.file == "" {
		return nil
	}
	b, err := os.ReadFile(s.file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read dashboard sessions: %w", err)
	}
	var saved map[string]savedSession
	if err := json.Unmarshal(b, &saved); err != nil {
		return fmt.Errorf("read dashboard sessions %s: %w", s.file, err)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range saved {
		var key [32]byte
		raw, err := hex.DecodeString(k)
		if err != nil || len(raw) != len(key) || !v.Expires.After(now) || v.Expires.Sub(now) > s.ttl {
			continue // expired, or made with a longer session_ttl than today's
		}
		copy(key[:], raw)
		if len(s.m) < maxSessions {
			s.m[key] = session{csrf: v.CSRF, expires: v.Expires}
		}
	}
	return nil
}

// save writes the live sessions (s.mu held) so a restart keeps everyone logged in: to
// a new file then renamed over the old, readable by hoist's user only.
func (s *sessions) save() error {
	if s.file == "" {
		return nil
	}
	out := make(map[string]savedSession, len(s.m))
	now := s.now()
	for k, v := range s.m {
		if !v.expires.After(now) {
			continue
		}
		out[hex.EncodeToString(k[:])] = savedSession{CSRF: v.csrf, Expires: v.expires}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.file), ".ui-sessions-*")
	if err != nil {
		return fmt.Errorf("save dashboard sessions: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save dashboard sessions: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save dashboard sessions: %w", err)
	}
	return os.Rename(tmp.Name(), s.file)
}
