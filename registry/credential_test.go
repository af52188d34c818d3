package registry

import (
	"fmt"
	"strings"
	"testing"
)

// TestCredentialNeverPrints: Options and Credential end up in error messages and
// debug logs by %v; the password must not.
func TestCredentialNeverPrints(t *testing.T) {
	o := Options{Credentials: []Credential{{Host: "r.example.com", Username: "ci", Password: "hunter2-pw"}}}
	c := o.Credentials[0]
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v", o, o, o), fmt.Sprintf("%+v %#v", c, c), fmt.Sprintf("%v", &c)} {
		if strings.Contains(out, "hunter2") {
			t.Fatalf("password printed: %s", out)
		}
	}
	if !strings.Contains(fmt.Sprintf("%+v", c), "r.example.com") {
		t.Errorf("host should still print: %+v", c)
	}
}
