package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"time"
)

// Template renders an event as the text of a message (Go text/template; the data is
// the Event, with its fields and the methods Verb, Took, Text, ShortFrom, ShortTo and
// JSON).
type Template struct{ t *template.Template }

// DefaultLine is the one-line message chat and push services get.
const DefaultLine = `{{.Text}}`

// DefaultMail is the message an email gets: the line, then each field on its own.
const DefaultMail = `{{.Text}}

Workload: {{.Workload}}
Outcome:  {{.Outcome}}
From:     {{.From}}
To:       {{.To}}
{{- if .Reason}}
Reason:   {{.Reason}}{{end}}
{{- if .Trigger}}
Trigger:  {{.Trigger}}{{end}}
Started:  {{.Started.Format "2006-01-02 15:04:05 MST"}}
Ended:    {{.Ended.Format "2006-01-02 15:04:05 MST"}}
`

// DefaultTemplate is the template a service gets when its sink names none: a mail
// for smtp, one line for every other.
func DefaultTemplate(service string) string {
	if service == "smtp" {
		return DefaultMail
	}
	return DefaultLine
}

// sample is what a template is tried on when parsed, so that a field that does not
// exist is found before an event is.
var sample = Event{Workload: "service/web", From: "reg/web:1", To: "reg/web:2", Outcome: "succeeded", Reason: "r", Trigger: "poll",
	Started: time.Unix(0, 0).UTC(), Ended: time.Unix(17, 0).UTC()}

// ParseTemplate parses text and renders it once with a sample event.
func ParseTemplate(text string) (*Template, error) {
	t, err := template.New("template").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	tp := &Template{t}
	if _, err := tp.Render(sample); err != nil {
		return nil, err
	}
	return tp, nil
}

// Render returns the message for e.
func (t *Template) Render(e Event) (string, error) {
	var b bytes.Buffer
	if err := t.t.Execute(&b, e); err != nil {
		return "", fmt.Errorf("render template: %w", err)
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// Verb is how the outcome reads in a sentence: "updated", "rolled back", ….
func (e Event) Verb() string {
	if v := verbs[e.Outcome]; v != "" {
		return v
	}
	return e.Outcome
}

// Took is how long the rollout ran, to the second (0 for a note that ended when made).
func (e Event) Took() time.Duration {
	if e.Started.IsZero() || !e.Ended.After(e.Started) {
		return 0
	}
	return e.Ended.Sub(e.Started).Round(time.Second)
}

// Text is the one-line account of e (see [Text]).
func (e Event) Text() string { return Text(e) }

// ShortFrom is From with its digest shortened.
func (e Event) ShortFrom() string { return ShortImage(e.From) }

// ShortTo is To with its digest shortened.
func (e Event) ShortTo() string { return ShortImage(e.To) }

// JSON is the event as a JSON document, as the json format posts it.
func (e Event) JSON() string {
	b, _ := json.Marshal(e) // an Event always marshals
	return string(b)
}
