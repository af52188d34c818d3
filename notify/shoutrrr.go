package notify

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"
)

// Service returns the shoutrrr service a URL names (ntfy://… is "ntfy",
// generic+https://… is "generic"), and false for http(s):// URLs, which hoist posts
// itself, and for schemes shoutrrr does not know.
func Service(rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "http" || u.Scheme == "https" {
		return "", false
	}
	name, _, _ := strings.Cut(strings.ToLower(u.Scheme), "+")
	if _, err := (&router.ServiceRouter{}).NewService(name); err != nil {
		return "", false
	}
	return name, true
}

// servedHost lists the services whose URL host is a server's name; in the others
// (discord://token@id, slack://a/b/c, telegram://token@telegram) it is part of a
// token, so it is never logged.
var servedHost = []string{"bark", "generic", "gotify", "matrix", "mattermost", "ntfy", "rocketchat", "signal", "smtp", "zulip"}

// logName is what may be logged of a shoutrrr URL: the service, and the server's host
// where the URL has one.
func logName(service, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || !slices.Contains(servedHost, service) || u.Host == "" {
		return service
	}
	return service + "://" + u.Host
}

// secretParts are the pieces of a URL that may be a token: the URL itself, its user
// and password, path segments and query values, and its host where that is not a
// server's name. Short pieces ("yes", "1") are left alone.
func secretParts(service, rawURL string) []string {
	parts := []string{rawURL}
	u, err := url.Parse(rawURL)
	if err == nil {
		if !slices.Contains(servedHost, service) {
			parts = append(parts, u.Host, u.Hostname())
		}
		if u.User != nil {
			p, _ := u.User.Password()
			parts = append(parts, u.User.Username(), p)
		}
		parts = append(parts, strings.Split(u.Path, "/")...)
		for _, vs := range u.Query() {
			parts = append(parts, vs...)
		}
		parts = append(parts, u.Fragment)
	}
	for _, p := range parts {
		if e := url.QueryEscape(p); e != p {
			parts = append(parts, e)
		}
		if e := url.PathEscape(p); e != p {
			parts = append(parts, e)
		}
	}
	parts = slices.DeleteFunc(parts, func(p string) bool { return len(p) < 4 })
	sort.Slice(parts, func(i, j int) bool { return len(parts[i]) > len(parts[j]) })
	return parts
}

// redact replaces every secret part of rawURL in msg.
func redact(msg string, parts []string) string {
	for _, p := range parts {
		msg = strings.ReplaceAll(msg, p, "<secret>")
	}
	return msg
}

// errUnconfirmed is a send that did not end in time: it may still arrive, so it is not
// tried again (that could send the message twice).
var errUnconfirmed = errors.New("no answer in time; not sent again, the message may still arrive")

// locate builds a fresh shoutrrr service for rawURL, without a logger (shoutrrr logs
// whole URLs). Its error names no part of the URL.
func locate(rawURL string, secrets []string) (types.Service, error) {
	svc, err := (&router.ServiceRouter{}).Locate(rawURL)
	if err != nil {
		return nil, errors.New(redact(err.Error(), secrets))
	}
	return svc, nil
}

// shout sends e through a shoutrrr service, trying again after an error (shoutrrr does
// not say which errors are lasting; Discord's 429 and Retry-After are handled inside
// shoutrrr).
func (n *Notifier) shout(ctx context.Context, s sink, e Event) error {
	msg, err := s.Template.Render(e)
	if err != nil {
		return err
	}
	wait := n.backoff
	for attempt := 0; ; attempt++ {
		err = n.shoutOnce(ctx, s, msg)
		if err == nil || errors.Is(err, errUnconfirmed) || attempt >= n.retries || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 4
	}
}

// shoutOnce sends msg once. shoutrrr's Send takes no context and some services set no
// timeout, so the send runs on its own and is given up on after n.timeout.
func (n *Notifier) shoutOnce(ctx context.Context, s sink, msg string) error {
	svc, err := locate(s.URL, s.secrets)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- svc.Send(msg, &types.Params{}) }()
	timer := time.NewTimer(n.timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return errors.New(redact(err.Error(), s.secrets)) // the wrapped errors may print the URL
		}
		return nil
	case <-timer.C:
		return errUnconfirmed
	case <-ctx.Done():
		return errUnconfirmed
	}
}
