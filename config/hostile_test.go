package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// hostile is an input that once cost seconds and gigabytes (issue 13), or the most an
// input under the size cap can make the loader do.
type hostile struct {
	name string
	data func() []byte
	want string // a problem it must report; "" when it is valid
}

const hostileTail = "\npolicies:\n  - name: p\n    match: { services: [x] }\n"

func repeatTo(prefix, unit, suffix string, size int) []byte {
	n := (size - len(prefix) - len(suffix)) / len(unit)
	return []byte(prefix + strings.Repeat(unit, n) + suffix)
}

func fixture(t testing.TB, name string) func() []byte {
	return func() []byte {
		b, err := os.ReadFile("testdata/hostile/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

func hostileInputs(t testing.TB) []hostile {
	const cap = DefaultMaxSize - 1024 // the most a file may be, less room for the rest
	return []hostile{
		{"nested [ 100000 deep (200 KB)", func() []byte { return repeatTo("listen: ", "[", "", 100_008) }, "nested more than 100 levels deep"},
		{"nested [ up to the cap", func() []byte { return repeatTo("listen: ", "[", "", cap) }, "nested more than 100 levels deep"},
		{"nested { a: 100000 deep", func() []byte { return repeatTo("listen: ", "{a: ", "", 400_008) }, "nested more than 100 levels deep"},
		{"nested - - - 100000 deep", func() []byte { return repeatTo("policies:\n  ", "- ", "x\n", 200_000) }, "nested more than 100 levels deep"},
		{"nested block mappings 1000 deep", func() []byte {
			var sb strings.Builder
			for i := 0; i < 1000; i++ {
				sb.WriteString(strings.Repeat(" ", i) + "a:\n")
			}
			return []byte(sb.String())
		}, "nested more than 100 levels deep"},
		{"alias bomb in match.services (10^9 values)", fixture(t, "alias-bomb.yaml"), "aliases (*name) expanded"},
		{"10 MB config", func() []byte {
			var sb strings.Builder
			sb.WriteString("policies:\n")
			for i := 0; sb.Len() < 10<<20; i++ {
				fmt.Fprintf(&sb, "  - name: p%d\n    match:\n      services: [web-%d, api-%d]\n    update: digest\n", i, i, i)
			}
			return []byte(sb.String())
		}, "more than the 512 KiB"},
		{"10 MB scalar", func() []byte { return repeatTo("listen: ", "a", hostileTail, 10<<20) }, "more than the 512 KiB"},
		{"512 KB scalar", func() []byte { return repeatTo("listen: ", "a", hostileTail, cap) }, `listen "aaaaaaaa`},
		{"512 KB quoted scalar", func() []byte { return repeatTo(`listen: "`, "a", `"`+hostileTail, cap) }, `listen "aaaaaaaa`},
		{"512 KB block scalar", func() []byte { return repeatTo("listen: |\n", "  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", hostileTail, cap) }, "listen"},
		{"512 KB of comments", func() []byte { return repeatTo("", "# a comment\n", hostileTail, cap) }, ""},
		{"512 KB of blank lines", func() []byte { return repeatTo("", "\n", hostileTail, cap) }, ""},
		{"512 KB flow list", func() []byte { return repeatTo("policies: [", "a,", "a]", cap) }, "YAML tokens"},
		{"tokens just under the limit", func() []byte {
			var sb strings.Builder
			sb.WriteString("policies:\n")
			for i := 0; i < DefaultMaxTokens/26; i++ {
				fmt.Fprintf(&sb, "  - name: p%d\n    match:\n      services: [web-%d, api-%d]\n    update: digest\n", i, i, i)
			}
			return []byte(sb.String())
		}, ""},
		{"values just under the alias limit", func() []byte {
			return []byte("policies:\n  - name: p\n    match:\n      services: &s [" + strings.Repeat("x,", 19_999) + "x]\n" +
				"  - name: q\n    match: { services: *s }\n  - name: r\n    match: { services: *s }\n")
		}, ""},
	}
}

// TestHostileInputs: every input above is refused (or accepted) with the problem it
// must report, in well under a second and under 100 MB of allocation.
func TestHostileInputs(t *testing.T) {
	for _, h := range hostileInputs(t) {
		t.Run(h.name, func(t *testing.T) {
			data := h.data()
			d, alloc, err := measure(func() error { _, err := Parse("hostile.yaml", data, env(nil)); return err })
			t.Logf("%d bytes: %v, %.1f MB allocated", len(data), d.Round(time.Millisecond), float64(alloc)/1e6)
			switch {
			case h.want == "" && err != nil:
				t.Errorf("unexpected problems: %.500s", err)
			case h.want != "" && (err == nil || !strings.Contains(err.Error(), h.want)):
				t.Errorf("problems %.500v, want one with %q", err, h.want)
			}
			if err != nil && len(err.Error()) > 2000 {
				t.Errorf("message is %d bytes: %.300s", len(err.Error()), err)
			}
			if alloc > 100<<20 {
				t.Errorf("allocated %.1f MB, more than 100 MB", float64(alloc)/1e6)
			}
			if d > time.Second && !raceOrSlow() {
				t.Errorf("took %v, more than a second", d)
			}
		})
	}
}

func measure(f func() error) (time.Duration, uint64, error) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	err := f()
	d := time.Since(start)
	runtime.ReadMemStats(&m1)
	return d, m1.TotalAlloc - m0.TotalAlloc, err
}

func raceOrSlow() bool { return testing.CoverMode() != "" || os.Getenv("HOIST_SLOW_MACHINE") != "" }

// BenchmarkHostileInputs reports time and memory per input: go test -bench Hostile -benchmem ./config
func BenchmarkHostileInputs(b *testing.B) {
	for _, h := range hostileInputs(b) {
		data := h.data()
		b.Run(strings.ReplaceAll(h.name, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				Parse("hostile.yaml", data, env(nil))
			}
		})
	}
}

func TestLoadFileStopsAtCap(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "big-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte("# padding\n"), 200_000)) // 2 MB
	f.Close()
	_, err = LoadFile(context.Background(), f.Name(), env(nil), Limits{MaxSize: 1 << 20})
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 || !strings.Contains(ps[0].Msg, "larger than the 1 MiB") {
		t.Fatalf("got %v, want one problem about the 1 MiB limit", err)
	}
	if _, err := LoadFile(context.Background(), "testdata/nope.yaml", env(nil), Limits{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LoadFile(ctx, "testdata/good.yaml", env(nil), Limits{}); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: %v, want context.Canceled", err)
	}
}

// TestLongValueCut: a long value is quoted by its first 80 bytes and its length.
func TestLongValueCut(t *testing.T) {
	long := strings.Repeat("a", 10<<10)
	_, err := Parse("long.yaml", []byte("listen: "+long+":80\ndocker: { host: "+long+" }\nbogus"+long+": 1"+hostileTail), env(nil))
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 3 {
		t.Fatalf("got %v, want 3 problems", err)
	}
	for _, p := range ps {
		if len(p.String()) > 600 || !strings.Contains(p.String(), "… (") {
			t.Errorf("%d bytes, not cut: %.200s", len(p.String()), p)
		}
	}
}

// TestPrescanNotFooled: text that only looks like a string or a comment to a simple
// scanner does not hide nesting from the depth limit.
func TestPrescanNotFooled(t *testing.T) {
	deep := strings.Repeat("[", 200)
	for name, doc := range map[string]string{
		"quote in a block scalar":         "a: |\n  \"\nb: " + deep + "\n\"\n",
		"quote inside a plain scalar":     "a: x \"y\nb: " + deep + "\n\"\n",
		"quote after a flow plain scalar": "a: [x \"y, " + deep + "\"]\n",
		"comment inside a quoted key":     "\"x\n #y\": " + deep + "\n",
		"compact sequences":               strings.Repeat("- ", 200) + "x\n",
		"compact keys":                    strings.Repeat("? ", 200) + "x\n",
	} {
		if line, msg := prescan([]byte(doc), Limits{}.withDefaults()); !strings.Contains(msg, "nested more than") || line == 0 {
			t.Errorf("%s: %d %q, want the depth limit", name, line, msg)
		}
	}
	// What real configurations hold passes.
	for _, p := range []string{"testdata/good.yaml", "testdata/history.yaml", "testdata/env/secrets.yaml", "../examples/hoist.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if _, msg := prescan(b, Limits{}.withDefaults()); msg != "" {
			t.Errorf("%s: %s", p, msg)
		}
	}
}
