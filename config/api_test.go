package config

import (
	"strings"
	"testing"
)

// api.token is held to the webhook secrets' minimum length; leaving it out is fine.
func TestAPITokenLength(t *testing.T) {
	const policies = "policies:\n  - name: p\n    match: { services: [x] }\n"
	for _, tc := range []struct {
		token string
		ok    bool
	}{
		{"", true},
		{strings.Repeat("a", MinTokenLen), true},
		{"0123456789abcdef0123456789abcdef", true},
		{strings.Repeat("a", MinTokenLen-1), false},
		{"x", false},
	} {
		_, err := Parse("x.yaml", []byte("api: { token: ${TOK} }\n"+policies), env(map[string]string{"TOK": tc.token}))
		if tc.token == "" {
			// An unset variable is its own problem; without the key the API is off.
			_, err = Parse("x.yaml", []byte(policies), env(nil))
		}
		if tc.ok && err != nil {
			t.Errorf("%d characters: %v", len(tc.token), err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "x.yaml:1: api.token: token is ")) {
			t.Errorf("%d characters: %v, want a problem on api.token", len(tc.token), err)
		}
	}
}
