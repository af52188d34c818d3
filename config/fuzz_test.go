package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoad: any bytes give a configuration or Problems, never a panic, each problem
// short, and quickly (the limits hold for every input).
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/*/*.yaml")
	for _, p := range append(seeds, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"\ufefflisten: :8080" + hostileTail,
		"a: |\n  \"\nb: [[[[\n",
		"a: \"x\n #y\": [[[\n",
		"- - - - - x\n",
		"? ? ? a\n",
		"x: &a [*a]\n",
		"listen: ${HOIST_TEST_WORDS}\n",
		"---\n---\n...\n",
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxSize: 64 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		cfg, err := Load(context.Background(), "fuzz.yaml", data, env(fixtureEnv), lim)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
		if err == nil {
			if cfg == nil {
				t.Fatal("no config and no error")
			}
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error %T %v, want Problems", err, err)
		}
		for _, p := range ps {
			if len(p.Msg) > 4*clipAt+40 || strings.Contains(p.Msg, "interface {}") {
				t.Errorf("problem %q", p.Msg)
			}
		}
	})
}
