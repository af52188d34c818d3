package config

import (
	"net/url"
	"strings"
)

// Notify is one place hoist reports rollouts to.
type Notify struct {
	// URL receives a POST per event. It may hold a token (a Slack hook does), so it is
	// a Secret: write it as ${VAR} to keep it out of the file.
	URL Secret `yaml:"url" json:"url"`
	// Format is json (the event as a document, the default) or slack ({"text": …},
	// also taken by Mattermost, Rocket.Chat and Discord's /slack endpoint).
	Format string `yaml:"format" json:"format"`
	// On lists the outcomes sent; default: succeeded, rolled_back, failed, refused,
	// awaiting_approval.
	On []string `yaml:"on" json:"on"`
}

// Outcomes a notification can be sent for.
var notifyOutcomes = []string{"succeeded", "rolled_back", "failed", "refused", "awaiting_approval", "skipped", "aborted"}

// DefaultNotifyOn is what a sink gets when it lists no outcomes: what changed a
// workload, should have and did not, or waits for someone.
var DefaultNotifyOn = []string{"succeeded", "rolled_back", "failed", "refused", "awaiting_approval"}

func (n *Notify) validate(v *validator, at string) {
	u, err := url.Parse(n.URL.Value())
	switch {
	case !n.URL.IsSet():
		v.addf(at+".url", "url is required: the address hoist POSTs each event to")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.addf(at+".url", "url must be an http:// or https:// address with a host") // the URL itself may hold a token: not repeated
	}
	switch n.Format {
	case "json", "slack":
	default:
		v.addf(at+".format", "format %q: use json (the event as a document) or slack ({\"text\": …})", n.Format)
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
