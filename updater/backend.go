package updater

import (
	"context"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
)

// Workload is one Swarm service or standalone container as a backend sees it.
type Workload struct {
	Kind policy.Kind `json:"kind"`
	// ID is the engine's id (service or container id).
	ID string `json:"id"`
	// Name is the service or container name; workloads are addressed by "<kind>/<name>".
	Name string `json:"name"`
	// Image is the image string as the engine holds it (repo:tag@sha256:… for services).
	Image string `json:"image"`
	// Digest is the digest the workload runs, when the backend knows it better than the
	// pin in Image (a container started from a tag); empty otherwise.
	Digest string            `json:"digest,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	// Group ties workloads that roll out together (containers of one policy and image).
	Group string `json:"group,omitempty"`
	// Platforms the workload runs on ("linux/amd64"), when the backend knows them.
	Platforms []v1.Platform `json:"platforms,omitempty"`
	// HasPrevious is true when a manual rollback is possible.
	HasPrevious bool `json:"has_previous"`
	// Compose, when set, says that the compose file of the workload's project names
	// another image than the one running, which `docker compose up` would bring back.
	Compose string `json:"compose,omitempty"`
	// Unmanaged, when set, says why hoist passes over this workload and what to do
	// (a container under a name hoist reserves that runs or that compose counts).
	Unmanaged string `json:"unmanaged,omitempty"`
}

// Key addresses a workload in the store and API: "service/web", "container/db".
func (w Workload) Key() string { return string(w.Kind) + "/" + w.Name }

// keyWorkload is the workload a key names, with only its kind and name known.
func keyWorkload(key string) Workload {
	kind, name, _ := strings.Cut(key, "/")
	return Workload{Kind: policy.Kind(kind), Name: name}
}

// Target is what a rollout moves a workload to.
type Target struct {
	// Tag is the tag followed (it may differ from the current one for semver policies).
	Tag name.Tag
	// Digest is the digest resolved from the registry by hoist itself.
	Digest v1.Hash
	// RegistryAuth is the X-Registry-Auth value for workers; empty for anonymous.
	RegistryAuth string
}

// Image is the pinned image string: repo:tag@sha256:….
// One concatenation: a cycle builds it for every workload (v1.Hash.String formats).
func (t Target) Image() string {
	return t.Tag.String() + "@" + t.Digest.Algorithm + ":" + t.Digest.Hex
}

// Plan is how a rollout proceeds and is judged, taken from the workload's policy.
// Durations are kept in the store as nanoseconds.
type Plan struct {
	Parallelism     int           `json:"parallelism,omitempty"`
	Delay           time.Duration `json:"delay,omitempty"`
	StartFirst      bool          `json:"start_first,omitempty"`
	Monitor         time.Duration `json:"monitor,omitempty"`
	MaxFailureRatio float64       `json:"max_failure_ratio,omitempty"`
	// Watch is how long hoist keeps watching after the rollout completed.
	Watch time.Duration `json:"watch,omitempty"`
	// Timeout bounds the rollout, watch included.
	Timeout      time.Duration `json:"timeout,omitempty"`
	KeepPrevious time.Duration `json:"keep_previous,omitempty"`
	// ComposeFile says whether a compose service moved to another tag gets its compose
	// file rewritten (policy.ComposeWrite) or only a note that it names the old tag.
	ComposeFile policy.ComposeFile `json:"compose_file,omitempty"`
	// HTTPProbe, when set, is checked against new containers and service tasks.
	HTTPProbe *HTTPProbe `json:"http_probe,omitempty"`
	// Canary, when set, runs a few tasks (or a group's first containers) on the target
	// for its hold before the rest follows; the hold adds to the rollout's timeout.
	Canary *policy.Canary `json:"canary,omitempty"`
	// Gate, when set, is the policy's metric gate: a backend may ask it during a canary's
	// hold (gate.New(*Gate).Check(ctx); docs/promotion.md).
	Gate *policy.Gate `json:"gate,omitempty"`
	// Written says which rollout settings the policy wrote itself. A Swarm service that
	// has its own update config keeps its values for the others.
	Written PlanFields `json:"written,omitempty"`
}

// PlanFields is a set of a Plan's Swarm rollout settings.
type PlanFields uint8

// The Swarm rollout settings a policy may write.
const (
	FieldParallelism PlanFields = 1 << iota
	FieldDelay
	FieldOrder
	FieldMonitor
	FieldMaxFailureRatio

	AllFields = FieldParallelism | FieldDelay | FieldOrder | FieldMonitor | FieldMaxFailureRatio
)

// Has reports whether f includes every field of g.
func (f PlanFields) Has(g PlanFields) bool { return f&g == g }

// HTTPProbe is an HTTP GET that must answer 2xx or 3xx.
type HTTPProbe struct {
	Port int    `json:"port"`
	Path string `json:"path"`
}

// How a rollout ends (Outcome is the store's, see record.go).
const (
	// Succeeded: the workload runs the target and stayed healthy through the watch.
	Succeeded Outcome = "succeeded"
	// RolledBack: the target failed and the workload is back on its previous image.
	RolledBack Outcome = "rolled_back"
	// Failed: the target failed and the rollback did not converge either; an operator must look.
	Failed Outcome = "failed"
	// Skipped: nothing needed to change (already there, identical for every platform, ...).
	Skipped Outcome = "skipped"
	// RefusedOutcome: hoist would not roll out (the new digest lacks a platform in use).
	RefusedOutcome Outcome = "refused"
	// Aborted: hoist stopped before the rollout started (shutdown, engine error).
	Aborted Outcome = "aborted"
	// HandedOver: hoist is stopping and the rollout had not ended within the grace
	// period; it is left to the engine and the next hoist, which resumes it. No record
	// ends with it: the record stays running in its phase.
	HandedOver Outcome = "handed_over"
	// AwaitingApprovalOutcome is what notifications call an update held for approval;
	// no rollout record has it.
	AwaitingApprovalOutcome Outcome = "awaiting_approval"
)

// Result is what a backend reports about one rollout.
type Result struct {
	Outcome Outcome
	Reason  string
	// Order says which order was used and why (containers choose per publish ports).
	Order string
	// Logs keeps the tail of a failed container's logs.
	Logs string
	// NotTheImage says a rolled-back rollout failed for a reason not of its image (the
	// engine rolled back over a task lost with its node): the digest is not quarantined,
	// and the next check may try it again.
	NotTheImage bool
}

// Backend runs rollouts for one kind of workload. Update must return only when the
// workload is on the target and healthy, or back where it was, or — when ctx ended
// (hoist is stopping) and the rollout did not end within the backend's grace — with
// HandedOver, in a state its Resumer takes over from.
type Backend interface {
	Kind() policy.Kind
	// List returns every workload of this kind the engine has.
	List(ctx context.Context) ([]Workload, error)
	// Update moves ws (one workload, or a group that rolls out together) to t, telling j
	// each phase before it acts on it.
	Update(ctx context.Context, ws []Workload, t Target, p Plan, j Journal, log zerolog.Logger) Result
	// Rollback returns w to the image it had before its last rollout.
	Rollback(ctx context.Context, w Workload) error
	// Finish drops what was kept for a manual rollback.
	Finish(ctx context.Context, w Workload) error
}

// Resumer is a backend that can take over rollouts a previous hoist process left
// unfinished (it was killed, or its node rebooted).
type Resumer interface {
	// Resume brings r, a record still running in the store, to its end from what the
	// engine shows now: it follows, watches, rolls back or finishes exactly as Update
	// would have, and never sends a change twice. w is r's workload as listed now (only
	// Kind and Name when it is not listed), t is r's target.
	Resume(ctx context.Context, w Workload, r Rollout, t Target, p Plan, j Journal, log zerolog.Logger) Result
	// Unfinished reads the engine alone for rollouts of ws that the store does not know
	// (known says which workload keys it has records for): an update hoist made that is
	// still within its watch, or one the engine rolled back. Each comes back as a record
	// (From, To, Started, Phase, Plan) for Resume; plans gives a workload's plan, false
	// when no policy governs it. It may also finish half-done work that needs no record.
	Unfinished(ctx context.Context, ws []Workload, known func(key string) bool, plans func(Workload) (Plan, bool)) []Rollout
}
