package container

import (
	"testing"

	"github.com/hoist-dev/hoist/internal/testenv"
)

// Recover finds a swap cut short and leaves one healthy container under the name.
func TestRecover(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// tookName: the replacement already holds the name (complete); otherwise it
		// still has its temporary name (reverse).
		tookName bool
	}{
		{"temporary-name", false},
		{"took-name", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			v1 := e.push("v1", testenv.App{Version: "v1"})
			v2 := e.push("v2", testenv.App{Version: "v2"})
			old := e.run("", v1.Tag.String(), nil, nil, nil)
			if err := e.b.pull(e.ctx, v2.Image(), ""); err != nil {
				t.Fatal(err)
			}
			// Do what swap.replace does (start-first) and stop where hoist "died".
			s := e.b.newSwap(old, v2.Image(), plan(), e.log)
			if err := s.create(e.ctx, e.prefix+suffixNext); err != nil {
				t.Fatal(err)
			}
			if err := e.b.start(e.ctx, s.newID); err != nil {
				t.Fatal(err)
			}
			if err := e.b.rename(e.ctx, old.ID, e.prefix+suffixOld); err != nil {
				t.Fatal(err)
			}
			want := old.ID
			if tc.tookName {
				if err := e.b.rename(e.ctx, s.newID, e.prefix); err != nil {
					t.Fatal(err)
				}
				want = s.newID
			}

			if err := e.b.Recover(e.ctx, e.log); err != nil {
				t.Fatal(err)
			}
			names := e.names()
			if names[e.prefix] != want {
				t.Fatalf("after recover %s = %.12s, want %.12s (%v)", e.prefix, names[e.prefix], want, names)
			}
			if _, ok := names[e.prefix+suffixNext]; ok {
				t.Errorf("temporary container left: %v", names)
			}
			if _, ok := names[e.prefix+suffixOld]; ok {
				t.Errorf("old container left parked: %v", names)
			}
			if tc.tookName && names[e.prefix+suffixPrev] != old.ID {
				t.Errorf("completed swap should keep the old container as previous: %v", names)
			}
			if !tc.tookName && len(names) != 1 {
				t.Errorf("reversed swap should leave one container: %v", names)
			}
			if _, err := e.b.waitHealthy(e.ctx, want, nil); err != nil {
				t.Error(err)
			}
			if running(e.inspect(old.ID)) == tc.tookName {
				t.Errorf("old container running=%v after recover", !tc.tookName)
			}
		})
	}
}
