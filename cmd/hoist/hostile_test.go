package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/internal/app"
	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// silentListener accepts connections and never answers: an engine or server address
// that takes the connection and then says nothing.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// withEngineTimeout sets how long hoist waits for the engine's first answer.
func withEngineTimeout(t *testing.T, d time.Duration) {
	old := app.EngineAnswerTimeout
	app.EngineAnswerTimeout = d
	t.Cleanup(func() { app.EngineAnswerTimeout = old })
}

// hostileCase is one command line a hostile or careless user could type, and the
// bound hoist must keep: exit code, what stderr says, what it must never show, time.
type hostileCase struct {
	name    string
	args    []string
	env     map[string]string
	code    int
	want    []string      // in what the user sees (stdout, stderr and the error as main prints it)
	not     []string      // never in it
	min     time.Duration // a deadline: not refused before it passed
	max     time.Duration // 0: 2 s
	cancel  time.Duration // > 0: a signal (ctx cancelled) this long after the start
	request *apiServer    // when set, no request may reach it
}

// runHostile runs c as main would and checks its bounds.
func runHostile(t *testing.T, c hostileCase) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if c.cancel > 0 {
		time.AfterFunc(c.cancel, stop)
	}
	var out, errb bytes.Buffer
	start := time.Now()
	err := run(ctx, c.args, func(k string) string { return c.env[k] }, &out, &errb)
	took := time.Since(start)
	code := 0
	if err != nil {
		code = report(&errb, err)
	}
	shown := out.String() + errb.String()
	t.Logf("exit %d in %v: %s", code, took.Round(time.Millisecond), strings.TrimSpace(shown))
	if code != c.code {
		t.Errorf("exit %d, want %d", code, c.code)
	}
	for _, w := range c.want {
		if !strings.Contains(shown, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	for _, n := range append([]string{"\x1b", "\u202e", "\x00"}, c.not...) {
		if strings.Contains(shown, n) {
			t.Errorf("output shows %q", n)
		}
	}
	limit := c.max
	if limit == 0 {
		limit = 2 * time.Second
	}
	if took > limit || took < c.min {
		t.Errorf("took %v, want between %v and %v", took, c.min, limit)
	}
	if c.request != nil && len(c.request.requests()) > 0 {
		t.Errorf("requests reached the server: %q", c.request.requests())
	}
}

func policyFile(t *testing.T, extra string) string {
	t.Helper()
	return writeFile(t, extra+"\ndata_dir: "+filepath.Join(t.TempDir(), "data")+"\npolicies:\n  - name: web\n    match: { services: [web] }\n")
}

// TestHostileCLI replays issue 22's command lines: each ends with a clear message and
// the right exit code, in under 2 s unless it waits on a deadline (shortened to 1 s).
func TestHostileCLI(t *testing.T) {
	withEngineTimeout(t, time.Second)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "hoist.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	silent := silentListener(t)
	silentEngine := policyFile(t, "docker: { host: \"tcp://"+silent+"\" }")
	good := policyFile(t, "")
	api := startAPI(t, apiToken)
	const secret = "s3cret-0123456789abcdef-token"
	cases := []hostileCase{
		// Deadlines.
		{name: "validate a FIFO", args: []string{"validate", "--config", fifo}, code: 1,
			want: []string{fifo + " is a named pipe (FIFO), not a regular file"}},
		{name: "check a FIFO", args: []string{"check", "--config", fifo}, code: 1, want: []string{"named pipe (FIFO)"}},
		{name: "serve a FIFO", args: []string{"serve", "--config", fifo}, code: 1, want: []string{"named pipe (FIFO)"}},
		{name: "validate a directory", args: []string{"validate", "--config", dir}, code: 1, want: []string{dir + " is a directory"}},
		{name: "validate a device", args: []string{"validate", "--config", "/dev/zero"}, code: 1, want: []string{"/dev/zero is a character device"}},
		{name: "check, engine silent", args: []string{"check", "--config", silentEngine}, code: 1,
			want: []string{"docker engine at tcp://" + silent + " did not answer within 1s"}, min: time.Second, max: 3 * time.Second},
		{name: "serve, engine silent", args: []string{"serve", "--config", good, "--docker-host", "tcp://" + silent}, code: 1,
			want: []string{"docker engine at tcp://" + silent + " did not answer within 1s"}, min: time.Second, max: 3 * time.Second},
		{name: "check, engine silent, signal", args: []string{"check", "--config", silentEngine}, code: 1, cancel: 300 * time.Millisecond,
			want: []string{"context canceled"}, max: time.Second},
		// One validation path for the file and the flags.
		{name: "serve --poll-interval 1ms", args: []string{"serve", "--config", good, "--poll-interval", "1ms"}, code: 2,
			want: []string{"--poll-interval: interval 1ms is too short; use at least 1s", "hoist serve --help"}},
		{name: "serve --poll-interval abc", args: []string{"serve", "--config", good, "--poll-interval", "abc"}, code: 2, want: []string{`invalid duration "abc"`}},
		{name: "serve --docker-host ftp://x", args: []string{"serve", "--config", good, "--docker-host", "ftp://x"}, code: 2,
			want: []string{`--docker-host: docker host "ftp://x" has scheme "ftp"`}, not: []string{"docker engine at"}},
		{name: "serve --listen nonsense", args: []string{"serve", "--config", good, "--listen", "nonsense"}, code: 2,
			want: []string{`--listen: listen "nonsense" is not host:port`}, not: []string{"listen on"}},
		{name: "serve --log-level shouting", args: []string{"serve", "--config", good, "--log-level", "shouting"}, code: 2,
			want: []string{`--log-level: log level "shouting": use debug, info, warn or error`}},
		{name: "serve --data-dir with an escape", args: []string{"serve", "--config", good, "--data-dir", "/tmp/\x1b[2J"}, code: 2,
			want: []string{`--data-dir: "/tmp/\x1b[2J" holds a character that does not print`}},
		{name: "history --limit -1", args: []string{"history", "--config", good, "--limit", "-1"}, code: 2, want: []string{"--limit -1: write a count from 1 to 1000"}},
		{name: "history --limit 5000", args: []string{"history", "--config", good, "--limit", "5000"}, code: 2, want: []string{"--limit 5000"}},
		{name: "history --limit abc", args: []string{"history", "--config", good, "--limit", "abc"}, code: 2, want: []string{`invalid argument "abc"`}},
		// Names checked before any request.
		{name: "rollback service/..%2f..", args: []string{"rollback", "--config", api.configFor(t, apiToken), "service/..%2f.."}, code: 2,
			want: []string{`"..%2f.." is not a Docker name`}, request: api},
		{name: "approve with an escape in the name", args: []string{"approve", "--config", api.configFor(t, apiToken), "service/web\x1b[2J"}, code: 2,
			want: []string{`web\x1b[2J`}, request: api},
		{name: "retry container/-x", args: []string{"retry", "--config", api.configFor(t, apiToken), "container/-x"}, code: 2, request: api},
		{name: "history service/a b", args: []string{"history", "--config", good, "service/a b"}, code: 2, want: []string{"is not a Docker name"}},
		// The config's environment.
		{name: "${VAR:?message} unset", args: []string{"validate", "--config", writeFile(t, "api:\n  token: ${HOIST_T:?make one: openssl rand -hex 16}\npolicies: [{ name: web, match: { services: [web] } }]\n")},
			code: 1, want: []string{":2: api.token: environment variable HOIST_T is not set: make one: openssl rand -hex 16"}},
		{name: "${VAR:-default}", args: []string{"validate", "--config", writeFile(t, "api: { token: \"${HOIST_T:-0123456789abcdef}\" }\npolicies: [{ name: web, match: { services: [web] } }]\n")},
			code: 0, want: []string{"is valid"}},
		{name: "placeholder-looking text beside a secret", args: []string{"validate", "--config", writeFile(t, "api: { token: ${HOIST_T} }\nlisten: HOISTENVREF0X\npolicies: [{ name: HOISTENVREF0X, match: { services: [web] } }]\n")},
			env: map[string]string{"HOIST_T": secret}, code: 1, want: []string{`listen "HOISTENVREF0X"`}, not: []string{secret}},
		{name: "escape in a policy name", args: []string{"validate", "--config", writeFile(t, "policies: [{ name: \"\\e[2J\\u202eweb\", match: { services: [web] } }]\n")},
			code: 1, want: []string{`"\x1b[2J\u202eweb" holds a character that does not print`}},
		{name: "escape in an unknown key", args: []string{"validate", "--config", writeFile(t, "\"\\e]0;pwned\\a\": 1\npolicies: [{ name: web, match: { services: [web] } }]\n")},
			code: 1, want: []string{`unknown key`, `pwned`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runHostile(t, c) })
	}
}

// TestHostileDockerHostEnv: DOCKER_HOST gets docker.host's check too, before any lookup.
func TestHostileDockerHostEnv(t *testing.T) {
	t.Setenv("DOCKER_HOST", "ftp://x")
	for _, cmd := range []string{"serve", "check"} {
		runHostile(t, hostileCase{args: []string{cmd, "--config", policyFile(t, "")}, code: 2,
			want: []string{`DOCKER_HOST: docker host "ftp://x" has scheme "ftp"`}, not: []string{"docker engine at"}})
	}
}

// TestHostileEngineDeadline: with the bound hoist ships with, a silent engine is
// reported after 10 s, not waited on forever.
func TestHostileEngineDeadline(t *testing.T) {
	silent := silentListener(t)
	runHostile(t, hostileCase{args: []string{"check", "--config", policyFile(t, "docker: { host: \"tcp://"+silent+"\" }")}, code: 1,
		want: []string{"docker engine at tcp://" + silent + " did not answer within 10s"}, min: 10 * time.Second, max: 12 * time.Second})
}

// TestHostileStoreInUse: a data_dir another process holds is named with its pid, by
// history (which reads the store) and by serve (which writes it).
func TestHostileStoreInUse(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s, err := app.OpenStore(data, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := writeFile(t, "data_dir: "+data+"\npolicies: [{ name: web, match: { services: [web] } }]\n")
	want := fmt.Sprintf("data_dir %s is in use by pid %d", data, os.Getpid())
	runHostile(t, hostileCase{args: []string{"history", "--config", cfg}, code: 1, want: []string{want}})
	testenv.Docker(t) // serve reaches the engine before it opens the store
	runHostile(t, hostileCase{args: []string{"serve", "--config", cfg}, code: 1, want: []string{want}, max: 5 * time.Second})
}

// hostileText is what an engine, a registry or a container's log could hand hoist:
// escape sequences that clear the screen or set the title, a right-to-left override,
// C1 and NUL.
const hostileText = "exited\x1b[2J\x1b]0;pwned\x07 \u202eexe.txt \u009b31m \x00 done\r\nnext line"

// TestHostileOutput: hostile text from the store, the engine or a server reaches the
// terminal as visible escapes, in tables and in JSON (which still decodes to it).
func TestHostileOutput(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s, err := app.OpenStore(data, false)
	if err != nil {
		t.Fatal(err)
	}
	r := updater.Rollout{Workload: "service/web\u202e", From: "reg/web:1", To: "reg/web\x1b[2J:2", Trigger: "poll\u009b",
		Started: time.Now().Add(-time.Minute), Ended: time.Now(), Outcome: updater.RolledBack, Reason: hostileText, Logs: hostileText}
	if _, err := s.Add(r); err != nil {
		t.Fatal(err)
	}
	s.Close()
	cfg := writeFile(t, "data_dir: "+data+"\npolicies: [{ name: web, match: { services: [web] } }]\n")
	never := []string{"\x07", "\u009b", "\r"}
	t.Run("history", func(t *testing.T) {
		runHostile(t, hostileCase{args: []string{"history", "--config", cfg}, want: []string{`service/web\u202e`, `exited\x1b[2J\x1b]0;pwned\x07 \u202eexe.txt \u009b31m \x00 done next line`}, not: never})
	})
	t.Run("history --json", func(t *testing.T) {
		runHostile(t, hostileCase{args: []string{"history", "--config", cfg, "--json"}, want: []string{`"workload": "service/web\u202e"`}, not: never})
		out, _, _ := runCLI(t, nil, "history", "--config", cfg, "--json")
		var rs []updater.Rollout
		if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 1 || rs[0].Reason != hostileText || rs[0].Workload != r.Workload {
			t.Errorf("the JSON does not decode to the record: %v %+v", err, rs)
		}
	})
	t.Run("check table", func(t *testing.T) {
		var out, errb bytes.Buffer
		sts := []updater.Status{{Workload: updater.Workload{Kind: "service", Name: "web\u202e", Image: "reg/web\x1b[2J:1"}, Policy: "p\x00",
			Action: updater.CheckError, Reason: hostileText}}
		for _, v := range []checkView{{}, {json: true}} {
			if err := v.print(&out, &errb, sts); err != nil {
				t.Fatal(err)
			}
		}
		shown := out.String() + errb.String()
		for _, n := range append(never, "\x1b", "\u202e", "\x00") {
			if strings.Contains(shown, n) {
				t.Errorf("check shows %q:\n%s", n, shown)
			}
		}
		if !strings.Contains(shown, `web\u202e`) || !strings.Contains(shown, `reg/web\x1b[2J:1`) {
			t.Errorf("escapes not shown:\n%s", shown)
		}
	})
}

var consoleColour = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestHostileLogs: what hoist logs of hostile text keeps its meaning in JSON and shows
// as escapes on a console.
func TestHostileLogs(t *testing.T) {
	for _, format := range []string{"json", "console"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log := app.NewLogger(config.Log{Level: "info", Format: format}, &buf)
			log.Info().Str("reason", hostileText).Str("workload", "service/web\u202e").Strs("tags", []string{"v1\u202e"}).
				Str("\x1b[2Jkey", "v").Msg("rolled back \x1b[2J")
			// The console's own colours are hoist's; what was logged must show no escape.
			out := consoleColour.ReplaceAllString(buf.String(), "")
			for _, n := range []string{"\x1b", "\u202e", "\u009b", "\x00", "\x07", "\r"} {
				if strings.Contains(out, n) {
					t.Errorf("log shows %q raw: %s", n, out)
				}
			}
			if strings.Count(out, "\n") != 1 {
				t.Errorf("not one line: %q", out)
			}
			if format == "json" {
				var line map[string]any
				if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["reason"] != hostileText || line["message"] != "rolled back \x1b[2J" {
					t.Errorf("the line does not decode to what was logged: %v %q", err, line)
				}
			} else if !strings.Contains(out, `exited\x1b[2J\x1b]0;pwned\a \u202eexe.txt`) || !strings.Contains(out, `rolled back \x1b[2J`) {
				t.Errorf("escapes not shown: %s", out)
			}
		})
	}
}

// TestHostileSignals: the hoist binary, waiting on an engine that never answers (with
// its shipped 10 s bound), ends within a second of SIGINT or SIGTERM; validate on a
// FIFO ends without one.
func TestHostileSignals(t *testing.T) {
	bin := hoistBinary(t)
	silent := silentListener(t)
	cfg := policyFile(t, "docker: { host: \"tcp://"+silent+"\" }")
	fifo := filepath.Join(t.TempDir(), "hoist.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		signal os.Signal // nil: none sent
		want   string
	}{
		{"check, SIGTERM", []string{"check", "--config", cfg}, syscall.SIGTERM, "terminated signal received"},
		{"check, SIGINT", []string{"check", "--config", cfg}, os.Interrupt, "interrupt signal received"},
		{"serve, SIGTERM", []string{"serve", "--config", cfg}, syscall.SIGTERM, "terminated signal received"},
		{"validate a FIFO", []string{"validate", "--config", fifo}, nil, "is a named pipe (FIFO)"},
		{"serve a FIFO", []string{"serve", "--config", fifo}, nil, "is a named pipe (FIFO)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			if tc.signal != nil {
				time.Sleep(500 * time.Millisecond) // within the engine's 10 s
				cmd.Process.Signal(tc.signal)
			}
			start := time.Now()
			select {
			case err := <-done:
				took := time.Since(start)
				t.Logf("%v after %v: %s", err, took.Round(time.Millisecond), strings.TrimSpace(errb.String()))
				if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(errb.String(), tc.want) {
					t.Errorf("exit %d, stderr %q; want 1 and %q", cmd.ProcessState.ExitCode(), errb.String(), tc.want)
				}
				if took > time.Second {
					t.Errorf("ended %v after the signal", took)
				}
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 5 s after the signal; stderr %q", errb.String())
			}
		})
	}
}
