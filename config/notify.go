package config

import (
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
)

// Notify is one place hoist reports rollouts to.
type Notify struct {
	// URL receives a POST per event (http:// or https://), or is a shoutrrr service
	// URL (ntfy://…, smtp://…, discord://…) the message is sent through. It may hold a
	// token (a Slack hook does), so it is a Secret: write it as ${VAR} to keep it out of
	// the file.
	URL Secret `yaml:"url" json:"url"`
	// Format, for an http(s) URL, is json (the event as a document, the default) or
	// slack ({"text": …}, also taken by Mattermost, Rocket.Chat and Discord's /slack
	// endpoint).
	Format string `yaml:"format" json:"format"`
	// Template is the message's text/template over the record, for format slack and
	// service URLs; empty takes the default (one line; a mail for smtp).
	Template string `yaml:"template" json:"template,omitempty"`
	// On lists the outcomes sent; default: succeeded, rolled_back, failed, refused,
	// awaiting_approval.
	On []string `yaml:"on" json:"on"`
}

// Outcomes a notification can be sent for.
var notifyOutcomes = []string{"succeeded", "rolled_back", "failed", "refused", "awaiting_approval", "skipped", "aborted"}

// DefaultNotifyOn is what a sink gets when it lists no outcomes: what changed a
// workload, should have and did not, or waits for someone.
var DefaultNotifyOn = []string{"succeeded", "rolled_back", "failed", "refused", "awaiting_approval"}

// Service is the shoutrrr service the URL names (ntfy://… is "ntfy",
// generic+https://… is "generic"), or "" for an http(s) URL or an unknown scheme.
func (n *Notify) Service() string {
	u, err := url.Parse(n.URL.Value())
	if err != nil || u.Scheme == "http" || u.Scheme == "https" {
		return ""
	}
	name, _, _ := strings.Cut(strings.ToLower(u.Scheme), "+")
	if _, err := (&router.ServiceRouter{}).NewService(name); err != nil {
		return ""
	}
	return name
}

// templateSample holds the names a template may use: the record's fields and what
// notify.Event adds (Verb, Took, Text, ShortFrom, ShortTo, JSON).
var templateSample = map[string]any{
	"Workload": "service/web", "From": "reg/web:1", "To": "reg/web:2", "Outcome": "succeeded", "Reason": "", "Trigger": "poll",
	"Started": time.Unix(0, 0).UTC(), "Ended": time.Unix(17, 0).UTC(),
	"Verb": "updated", "Took": 17 * time.Second, "Text": "", "ShortFrom": "", "ShortTo": "", "JSON": "{}",
}

func (n *Notify) validate(v *validator, at string) {
	u, err := url.Parse(n.URL.Value())
	service := n.Service()
	switch {
	case !n.URL.IsSet():
		v.addf(at+".url", "url is required: the address hoist POSTs each event to, or a service URL such as ntfy://ntfy.sh/topic")
	case service != "":
		if service == "matrix" { // reading a matrix URL logs in: a host is all that is checked
			if err != nil || u.Host == "" {
				v.addf(at+".url", "url does not read as a matrix URL; the README's notification table shows its form")
			}
		} else if _, err := (&router.ServiceRouter{}).Locate(n.URL.Value()); err != nil {
			v.addf(at+".url", "url does not read as a %s URL; the README's notification table shows its form", service) // shoutrrr's error may quote the URL: not repeated
		}
		if n.Format != "" {
			v.addf(at+".format", "format is for http(s) URLs; a %s URL sends the template's text", service)
		}
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.addf(at+".url", "url must be an http:// or https:// address with a host, or a service URL (ntfy://, smtp://, discord://, slack://, telegram://, teams://, gotify://, pushover://, matrix://, generic://, …)") // the URL itself may hold a token: not repeated
	}
	if service == "" {
		switch n.Format {
		case "json", "slack":
		default:
			v.addf(at+".format", "format %q: use json (the event as a document) or slack ({\"text\": …})", n.Format)
		}
		if n.Format == "json" && n.Template != "" {
			v.addf(at+".template", "template is not used with format json (the record is posted as it is): use format slack or a service URL")
		}
	}
	if n.Template != "" {
		if t, err := template.New("template").Option("missingkey=error").Parse(n.Template); err != nil {
			v.addf(at+".template", "template does not parse: %v", err)
		} else if err := t.Execute(&strings.Builder{}, templateSample); err != nil {
			v.addf(at+".template", "template does not render: %v", err)
		}
	}
	for i, o := range n.On {
		ok := false
		for _, known := range notifyOutcomes {
			ok = ok || o == known
		}
		if !ok {
			v.addf(pathf("%s.on[%d]", at, i), "outcome %q: use %s", o, strings.Join(notifyOutcomes, ", "))
		}
	}
}
