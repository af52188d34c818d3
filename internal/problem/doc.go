// Package problem is hoist's one shape for an error answer: RFC 9457 problem details
// (application/problem+json), with one title per problem type whichever server
// answers — the API (api), the dashboard (ui) and the webhook receiver (webhook).
//
// A type is https://hoist.dev/problems/<slug>: an identifier, stable, never fetched.
// The title is fixed per slug (titles.go); Detail says in hoist's own words what
// happened this time.
package problem
