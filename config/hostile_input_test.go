package config

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadFileRefusesWhatIsNotAFile: a named pipe, a directory, a device or a socket
// is refused at once, naming the path, instead of waiting for a writer or reading
// forever (issue 22).
func TestLoadFileRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "hoist.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	link := filepath.Join(dir, "link.yaml")
	os.Symlink(fifo, link)
	for _, tc := range []struct{ name, path, want string }{
		{"named pipe", fifo, "is a named pipe (FIFO), not a regular file"},
		{"symlink to a named pipe", link, "is a named pipe (FIFO), not a regular file"},
		{"directory", dir, "is a directory, not a regular file"},
		{"character device", "/dev/zero", "is a character device, not a regular file"},
		{"socket", sock, "is a socket, not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := LoadFile(context.Background(), tc.path, env(nil), Limits{})
			took := time.Since(start)
			var nr *NotRegularError
			if !errors.As(err, &nr) || !strings.Contains(err.Error(), tc.path+" "+tc.want) {
				t.Errorf("got %v, want %q naming %s", err, tc.want, tc.path)
			}
			if took > 2*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

// TestEnvForms: ${VAR:-default} and ${VAR:?message} work as in a shell, $${ is a
// literal, and every other form is a problem at its key and line, never literal text.
func TestEnvForms(t *testing.T) {
	const tail = "\npolicies:\n  - name: web\n    match: { services: [web] }\n"
	vars := map[string]string{"SET": "0123456789abcdef0123", "EMPTY": ""}
	for _, tc := range []struct {
		name, doc string
		check     func(*Config) string // what is wrong, or ""
		want      string               // the problem, when the file is invalid
	}{
		{"default used when unset", "api: { token: \"${UNSET:-abcdefghijklmnop}\" }", func(c *Config) string {
			return diff(c.API.Token.Value(), "abcdefghijklmnop")
		}, ""},
		{"default used when empty", "data_dir: ${EMPTY:-/var/lib/hoist}", func(c *Config) string { return diff(c.DataDir, "/var/lib/hoist") }, ""},
		{"value wins over default", "api: { token: \"${SET:-x}\" }", func(c *Config) string { return diff(c.API.Token.Value(), vars["SET"]) }, ""},
		{"default in a duration", "poll: { interval: ${UNSET:-90s} }", func(c *Config) string { return diff(c.Poll.Interval.D().String(), "1m30s") }, ""},
		{"empty default", "data_dir: \"/x${UNSET:-}\"", func(c *Config) string { return diff(c.DataDir, "/x") }, ""},
		{"required and set", "api: { token: \"${SET:?set the token}\" }", func(c *Config) string { return diff(c.API.Token.Value(), vars["SET"]) }, ""},
		{"literal ${", "data_dir: \"/a/$${b}\"", func(c *Config) string { return diff(c.DataDir, "/a/${b}") }, ""},
		{"in a comment", "# ${UNSET:?never read}\ndata_dir: /d", func(c *Config) string { return diff(c.DataDir, "/d") }, ""},
		{"required and unset", "\n\napi: { token: \"${UNSET:?make one with openssl rand -hex 16}\" }", nil,
			"h.yaml:3: api.token: environment variable UNSET is not set: make one with openssl rand -hex 16"},
		{"required and empty, in a list", "x: 1\npolicies:\n  - name: p\n    match: { services: [\"${EMPTY:?a service}\"] }\n", nil,
			"h.yaml:4: policies[0].match.services[0]: environment variable EMPTY is not set: a service"},
		{"unset", "api: { token: \"${UNSET}\" }", nil, "h.yaml:1: api.token: environment variable UNSET is not set (referenced as ${UNSET})"},
		{"dash without colon", "api: { token: \"${UNSET-x}\" }", nil, "h.yaml:1: api.token: ${UNSET-x} is not a reference hoist reads"},
		{"assign", "api: { token: \"${UNSET:=x}\" }", nil, "${UNSET:=x} is not a reference hoist reads"},
		{"alternative", "api: { token: \"${SET:+x}\" }", nil, "${SET:+x} is not a reference hoist reads"},
		{"not a name", "data_dir: \"${1}\"", nil, "h.yaml:1: data_dir: ${1} is not a reference hoist reads"},
		{"empty", "data_dir: \"${}\"", nil, "${} is not a reference hoist reads"},
		{"nested", "data_dir: \"${A:-${B}}\"", nil, "is not a reference hoist reads"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc
			if !strings.Contains(doc, "policies:") {
				doc += tail
			}
			start := time.Now()
			cfg, err := Parse("h.yaml", []byte(doc), env(vars))
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected problems: %v", err)
			case tc.want == "":
				if msg := tc.check(cfg); msg != "" {
					t.Error(msg)
				}
			case err == nil || !strings.Contains(err.Error(), tc.want):
				t.Errorf("problems %v, want %q", err, tc.want)
			}
		})
	}
}

func diff(got, want string) string {
	if got == want {
		return ""
	}
	return "got " + got + ", want " + want
}

// TestPlaceholderNeverShowsASecret: text that looks like the placeholders ${VAR} is
// swapped for while the file is read cannot make an error message print a variable's
// value (it printed the API token in issue 22).
func TestPlaceholderNeverShowsASecret(t *testing.T) {
	const secret = "s3cret-0123456789abcdef"
	vars := map[string]string{"TOKEN": secret, "PW": secret}
	for _, tc := range []struct{ name, doc string }{
		{"in listen", "api: { token: ${TOKEN} }\nlisten: HOISTENVREF0X\n"},
		{"in listen, second reference", "webhooks: { distribution: { token: ${PW} } }\napi: { token: ${TOKEN} }\nlisten: HOISTENVREF1X\n"},
		{"in docker.host", "api: { token: ${TOKEN} }\ndocker: { host: \"HOISTENVREF0X://x\" }\n"},
		{"in a policy name", "api: { token: ${TOKEN} }\npolicies:\n  - name: \"HOISTENVREF0X HOISTENVREF0X\"\n    match: { services: [x] }\n"},
		{"in an unknown key", "api: { token: ${TOKEN} }\nHOISTENVREF0X: 1\n"},
		{"in a number", "api: { token: ${TOKEN} }\npoll: { concurrency: HOISTENVREF0X }\n"},
		{"marker of any length", "api: { token: ${TOKEN} }\nlisten: HOISTENVREF00000000000000000N0X\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc
			if !strings.Contains(doc, "policies:") {
				doc += "policies:\n  - name: web\n    match: { services: [web] }\n"
			}
			_, err := Parse("h.yaml", []byte(doc), env(vars))
			if err == nil {
				t.Fatal("valid; want a problem")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

// TestNamesPrintable: a name, glob, label or path that holds a character that does not
// print (NUL, an escape sequence, a bidi override) is a problem at its key.
func TestNamesPrintable(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"NUL in a policy name", `policies: [{ name: "we\0b", match: { services: [web] } }]`, `policies[0].name: "we\x00b" holds a character that does not print (U+0000)`},
		{"escape in a policy name", `policies: [{ name: "\e[31mweb", match: { services: [web] } }]`, `policies[0].name: "\x1b[31mweb" holds a character that does not print (U+001B)`},
		{"bidi override in a policy name", `policies: [{ name: "web\u202Eprod", match: { services: [web] } }]`, `policies[0].name: "web\u202eprod" holds a character that does not print (U+202E)`},
		{"bell in a glob", `policies: [{ name: web, match: { services: ["w\aeb"] } }]`, `policies[0].match.services[0]: "w\aeb" holds`},
		{"bidi in a label key", `policies: [{ name: web, match: { labels: { "tier\u2066": x } } }]`, `policies[0].match.labels: "tier\u2066" holds`},
		{"C1 in a label value", `policies: [{ name: web, match: { labels: { tier: "\x9b" } } }]`, `policies[0].match.labels.tier: "\u009b" holds`},
		{"newline in a registry host", "registries: [{ host: \"r\\nx\" }]\npolicies: [{ name: web, match: { services: [web] } }]", `registries[0].host: "r\nx" holds`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("h.yaml", []byte(tc.doc), env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("problems %v, want %q", err, tc.want)
			}
		})
	}
	// A notification template may span lines; letters of any script print.
	ok := "notify: [{ url: \"https://x.example/h\", format: slack, template: \"line 1\\n\\tline 2\" }]\n" +
		"policies: [{ name: café-web, match: { services: [\"日本-*\"] } }]\n"
	if _, err := Parse("h.yaml", []byte(ok), env(nil)); err != nil {
		t.Errorf("printable text refused: %v", err)
	}
}

// TestApplyChecksFlagsAsTheFile: a flag value gets the check and the message of the
// key it replaces.
func TestApplyChecksFlagsAsTheFile(t *testing.T) {
	const base = "policies:\n  - name: web\n    match: { services: [web] }\n"
	for _, tc := range []struct {
		key, flag, value string
		want             string // "" when accepted
	}{
		{"poll.interval", "--poll-interval", "1ms", "interval 1ms is too short; use at least 1s"},
		{"poll.interval", "--poll-interval", "abc", `invalid duration "abc"`},
		{"poll.interval", "--poll-interval", "30", `duration "30" needs a unit`},
		{"poll.interval", "--poll-interval", "0", ""},
		{"poll.interval", "--poll-interval", "1s", ""},
		{"docker.host", "--docker-host", "ftp://x", `docker host "ftp://x" has scheme "ftp"`},
		{"docker.host", "--docker-host", "x", `docker host "x" has no scheme`},
		{"docker.host", "--docker-host", "tcp://127.0.0.1:2375", ""},
		{"listen", "--listen", "nonsense", `listen "nonsense" is not host:port`},
		{"listen", "--listen", ":99999", `has port "99999"`},
		{"listen", "--listen", "\x1b[2J:80", `"\x1b[2J:80" holds a character that does not print (U+001B)`},
		{"listen", "--listen", "127.0.0.1:0x", `has port "0x"`},
		{"log.level", "--log-level", "shouting", `log level "shouting": use debug, info, warn or error`},
		{"data_dir", "--data-dir", "/var/lib/hoist\u202e", `holds a character that does not print (U+202E)`},
	} {
		t.Run(tc.flag+" "+tc.value, func(t *testing.T) {
			cfg, err := Parse("h.yaml", []byte(base), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Apply([]Override{{Flag: tc.flag, Key: tc.key, Value: tc.value}})
			var fp FlagProblems
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want == "":
			case !errors.As(err, &fp) || !strings.HasPrefix(err.Error(), tc.flag+": ") || !strings.Contains(err.Error(), tc.want):
				t.Errorf("got %v, want %s: …%s…", err, tc.flag, tc.want)
			}
			if tc.want == "" {
				return
			}
			// The file's key gets the same message.
			_, ferr := Parse("h.yaml", []byte(strings.Replace(tc.key, ".", ": { ", 1)+": "+quotedYAML(tc.value)+strings.Repeat(" }", strings.Count(tc.key, "."))+"\n"+base), env(nil))
			if ferr == nil || !strings.Contains(ferr.Error(), tc.want) {
				t.Errorf("the file's %s gets %v, want %q too", tc.key, ferr, tc.want)
			}
		})
	}
}

func quotedYAML(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r < 0x20 || r >= 0x7f && r < 0xa0 || r == 0x202e:
			b.WriteString(fmt.Sprintf(`\u%04x`, r))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
