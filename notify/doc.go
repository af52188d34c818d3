// Package notify tells people what hoist did: when a rollout ends (or an update is
// refused), each configured sink gets a message — a JSON document for any HTTP
// endpoint, or a Slack-compatible text message (Slack, Mattermost, Rocket.Chat, Discord's
// /slack endpoint) — for http(s):// URLs; any other service shoutrrr knows
// (Telegram, Discord, Teams, email over SMTP, Gotify, ntfy, Pushover, Matrix, a
// generic webhook, …) through its URL (github.com/nicholas-fedor/shoutrrr), with a
// text/template message.
//
// Sending never blocks the updater: messages go through a bounded queue, and a sink
// that fails is retried a few times with backoff, then given up on and logged. A sink's
// URL may hold a token, so only its host is ever logged (for a shoutrrr URL, its
// service, and its host where that names a server), and shoutrrr's errors are
// stripped of every part of the URL.
//
// notify imports no other hoist package.
package notify
