package policy

import "testing"

func TestParseComposeFile(t *testing.T) {
	for in, want := range map[string]ComposeFile{"": ComposeWarn, "warn": ComposeWarn, "write": ComposeWrite} {
		if got, err := ParseComposeFile(in); err != nil || got != want {
			t.Errorf("ParseComposeFile(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseComposeFile("yes"); err == nil {
		t.Error("ParseComposeFile(yes): no error")
	}
}
