package notify

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// request is what a service server was sent.
type request struct{ host, path, query, body string }

// serviceServer stands in for the services' HTTP APIs: it records every request and
// answers each as its service expects (Slack "ok", Discord 204, ntfy and Gotify a JSON
// message); a path with "fail" in it gets the status given.
type serviceServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newServiceServer(t *testing.T, tlsOn bool, fail int) *serviceServer {
	s := &serviceServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, request{r.Host, r.URL.Path, r.URL.RawQuery, string(b)})
		s.mu.Unlock()
		switch {
		case strings.Contains(r.URL.Path, "fail"):
			w.WriteHeader(fail)
		case strings.HasPrefix(r.URL.Path, "/services/"):
			io.WriteString(w, "ok")
		case strings.HasPrefix(r.URL.Path, "/api/webhooks/"):
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == "/message": // Gotify
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":1,"appid":1,"message":"m","title":"t"}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"1","message":"m","title":"t"}`)
		}
	})
	if tlsOn {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *serviceServer) to(path string) []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []request
	for _, r := range s.reqs {
		if strings.HasPrefix(r.path, path) {
			out = append(out, r)
		}
	}
	return out
}

// routeTLS sends the requests for Slack's and Discord's hosts (fixed in shoutrrr)
// made through http.DefaultTransport, which those services use, to s, with s's
// certificate checked; any other address must be on 127.0.0.1.
func routeTLS(t *testing.T, s *serviceServer) {
	tr := s.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = "example.com" // the name in httptest's certificate
	to := s.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		switch host, _, _ := net.SplitHostPort(addr); host {
		case "hooks.slack.com", "discord.com":
			addr = to
		case "127.0.0.1":
		default:
			return nil, fmt.Errorf("test dials %s", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	tr.Proxy = nil
	old := http.DefaultTransport
	http.DefaultTransport = tr
	t.Cleanup(func() { http.DefaultTransport = old })
}

// smtpServer is a minimal SMTP responder on 127.0.0.1 that keeps each mail's data.
type smtpServer struct {
	ln    net.Listener
	mu    sync.Mutex
	mails []string
}

func newSMTPServer(t *testing.T) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprint(c, "220 127.0.0.1 ESMTP test\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			fmt.Fprint(c, "250-127.0.0.1\r\n250 8BITMIME\r\n")
		case strings.HasPrefix(cmd, "DATA"):
			fmt.Fprint(c, "354 go ahead\r\n")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			s.mu.Lock()
			s.mails = append(s.mails, data.String())
			s.mu.Unlock()
			fmt.Fprint(c, "250 queued\r\n")
		case strings.HasPrefix(cmd, "QUIT"):
			fmt.Fprint(c, "221 bye\r\n")
			return
		default: // HELO, MAIL, RCPT, RSET, NOOP
			fmt.Fprint(c, "250 ok\r\n")
		}
	}
}

func (s *smtpServer) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.mails...)
}

// Each service gets exactly one message per event it wants, in its own shape, and
// no part of a secret URL reaches the logs, not even from a service that fails.
func TestShoutrrrServices(t *testing.T) {
	hosted := newServiceServer(t, true, 0) // Slack's and Discord's own hosts
	routeTLS(t, hosted)
	self := newServiceServer(t, false, http.StatusInternalServerError) // self-hosted ntfy, Gotify, a generic webhook
	mail := newSMTPServer(t)
	at := self.Listener.Addr().String()

	const (
		slackTok   = "S3cr3tSl4ckT0k3nX9y8z7w6"
		discordTok = "d1sc0rdS3cr3tT0k3n"
		ntfyPw     = "ntfyS3cr3tPw"
		gotifyTok  = "As3cr3tG0t1fyTk"
		genericTok = "g3n3r1cS3cr3t"
	)
	secrets := []string{slackTok, discordTok, "987654321", ntfyPw, "hoist-t0pic", gotifyTok, genericTok}
	line, _ := ParseTemplate("{{.Workload}} {{.Verb}} to {{.ShortTo}}")
	sinks := []Sink{
		{URL: "slack://hook:T00000000-B00000000-" + slackTok + "@webhook"},
		{URL: "discord://" + discordTok + "@987654321"},
		{URL: "ntfy://hoist:" + ntfyPw + "@" + at + "/hoist-t0pic?scheme=http&title=hoist", Template: line},
		{URL: "gotify://" + at + "/" + gotifyTok + "?disabletls=yes&title=hoist"},
		{URL: "generic+http://" + at + "/generic/" + genericTok, On: []string{"rolled_back"}},
		{URL: "smtp://" + mail.ln.Addr().String() + "/?from=hoist@example.com&to=ops@example.com&subject=hoist&encryption=None&starttls=No&auth=None"},
		{URL: "generic+http://" + at + "/fail/" + genericTok}, // answers 500 to every try
	}
	var logs strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) })
	n, stop := start(t, sinks, w)
	ok := event
	ok.Outcome, ok.Reason = "succeeded", ""
	n.Send(ok)
	n.Send(event)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if len(hosted.to("/")) >= 4 && len(self.to("/")) >= 2+2+1+8 && len(self.to("/fail/")) >= 8 && len(mail.received()) >= 2 {
			break
		}
	}
	time.Sleep(50 * time.Millisecond) // a message too many would come within this
	stop()

	wantTexts := []string{Text(ok), Text(event)}
	check := func(service string, got []string, want []string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d messages, want %d: %q", service, len(got), len(want), got)
			return
		}
		for i := range want {
			if !strings.Contains(got[i], want[i]) {
				t.Errorf("%s message %d:\n%s\nwant it to hold %q", service, i, got[i], want[i])
			}
		}
	}
	bodies := func(rs []request) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.host+r.path+"?"+r.query+" "+r.body)
		}
		return out
	}
	check("slack", bodies(hosted.to("/services/T00000000/B00000000/"+slackTok)), jsonTexts(wantTexts))
	check("discord", bodies(hosted.to("/api/webhooks/987654321/"+discordTok)), jsonTexts(wantTexts))
	check("ntfy", bodies(self.to("/hoist-t0pic")), []string{"service/web updated to reg/web:1@sha256:bbbbbbbbbbbb", "service/web rolled back to reg/web:1@sha256:bbbbbbbbbbbb"})
	check("gotify", bodies(self.to("/message")), jsonTexts(wantTexts))
	check("generic", bodies(self.to("/generic/"+genericTok)), []string{Text(event)})
	check("smtp", mail.received(), []string{"Workload: service/web", "Reason:   task abc exited (exit 3)"})
	if got := len(self.to("/fail/")); got != 2*4 {
		t.Errorf("failing sink: %d attempts, want 8 (2 events, each tried 4 times)", got)
	}

	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), `"sink":"generic://`+at+`"`) || !strings.Contains(logs.String(), "not delivered") {
		t.Errorf("logs: %s\nwant the failing generic sink named by its host", logs.String())
	}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs hold %q: %s", s, logs.String())
		}
	}
}

// jsonTexts is how the texts read inside a JSON body (the arrow escaped or not).
func jsonTexts(texts []string) []string {
	out := make([]string, len(texts))
	for i, s := range texts {
		out[i] = s[:strings.Index(s, " → ")] // the part before the arrow has nothing JSON escapes
	}
	return out
}

// A service that does not answer in time is given up on, not sent again, and the
// queue moves on.
func TestShoutrrrTimeout(t *testing.T) {
	hang := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer s.Close()
	defer close(hang)
	var logs strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) })
	n := New([]Sink{{URL: "generic+http://" + s.Listener.Addr().String() + "/t0k3n"}}, zerolog.New(w), Options{Timeout: 100 * time.Millisecond, Backoff: time.Millisecond})
	n.Send(event)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	began := time.Now()
	n.Run(ctx)
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("a hanging service held the queue %s", took)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "no answer in time") || strings.Contains(logs.String(), "t0k3n") {
		t.Errorf("logs: %s", logs.String())
	}
}

func TestService(t *testing.T) {
	for url, want := range map[string]string{
		"ntfy://ntfy.sh/topic": "ntfy", "generic+https://example.com/x": "generic", "smtp://a@b:25/?to=c": "smtp",
		"TELEGRAM://t@telegram?chats=1": "telegram", "https://hooks.slack.com/x": "", "ftp://x": "", "::": "",
	} {
		if got, _ := Service(url); got != want {
			t.Errorf("Service(%q) = %q, want %q", url, got, want)
		}
	}
}

func TestTemplate(t *testing.T) {
	if _, err := ParseTemplate("{{.Image}}"); err == nil {
		t.Error("a template naming no field of the event parsed")
	}
	mail, err := ParseTemplate(DefaultTemplate("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := mail.Render(event)
	want := Text(event) + `

Workload: service/web
Outcome:  rolled_back
From:     reg/web:1@sha256:` + strings.Repeat("a", 64) + `
To:       reg/web:1@sha256:` + strings.Repeat("b", 64) + `
Reason:   task abc exited (exit 3)
Trigger:  dockerhub
Started:  2026-11-23 10:00:00 UTC
Ended:    2026-11-23 10:00:17 UTC`
	if got != want {
		t.Errorf("mail:\n%s\nwant\n%s", got, want)
	}
	tp, _ := ParseTemplate(`{{.Workload}} {{.Verb}} in {{.Took}}: {{.JSON}}`)
	if got, _ := tp.Render(event); !strings.HasPrefix(got, `service/web rolled back in 17s: {"workload":"service/web"`) {
		t.Errorf("render: %s", got)
	}
	if _, body, _ := (Slack{Template: tp}).Body(event); !strings.Contains(string(body), `"text":"service/web rolled back in 17s`) {
		t.Errorf("slack body: %s", body)
	}
}
