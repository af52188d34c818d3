package notify

import (
	"encoding/json"
	"fmt"
	"strings"
)

// JSON sends the event itself as a JSON document.
type JSON struct{}

// Body implements Format.
func (JSON) Body(e Event) (string, []byte, error) {
	b, err := json.Marshal(e)
	return "application/json", b, err
}

// Slack sends {"text": …}, which Slack incoming webhooks and the Slack-compatible
// endpoints of Mattermost, Rocket.Chat and Discord accept. The text is Template's,
// or the one line of [Text] without one.
type Slack struct{ Template *Template }

// Body implements Format.
func (s Slack) Body(e Event) (string, []byte, error) {
	text := Text(e)
	if s.Template != nil {
		var err error
		if text, err = s.Template.Render(e); err != nil {
			return "", nil, err
		}
	}
	b, err := json.Marshal(map[string]string{"text": text})
	return "application/json", b, err
}

var verbs = map[string]string{
	"succeeded":         "updated",
	"rolled_back":       "rolled back",
	"failed":            "FAILED (and its rollback too; look at it)",
	"refused":           "refused an update",
	"skipped":           "needed no restart",
	"awaiting_approval": "waits for approval",
	"aborted":           "update aborted",
}

// Text is a one-line, human account of e.
func Text(e Event) string {
	verb := verbs[e.Outcome]
	if verb == "" {
		verb = e.Outcome
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hoist: %s %s: %s → %s", e.Workload, verb, ShortImage(e.From), ShortImage(e.To))
	if e.Reason != "" {
		fmt.Fprintf(&b, " (%s)", e.Reason)
	}
	if !e.Started.IsZero() && e.Ended.After(e.Started) { // notes that end when made have no duration
		fmt.Fprintf(&b, " in %s", e.Ended.Sub(e.Started).Round(1e9))
	}
	if e.Trigger != "" {
		fmt.Fprintf(&b, ", trigger %s", e.Trigger)
	}
	return b.String()
}

// ShortImage keeps a pinned image readable: "repo:tag@sha256:0123456789ab".
func ShortImage(image string) string {
	if i := strings.Index(image, "@sha256:"); i >= 0 && len(image) > i+20 {
		return image[:i+20]
	}
	return image
}
