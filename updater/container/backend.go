package container

import (
	"context"
	"time"

	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// Names hoist gives the containers of a swap. A container's base name plus one of these
// suffixes is reserved for hoist.
const (
	// suffixNext is the new container before it takes the name (start-first), or the
	// current one moved away during a manual rollback.
	suffixNext = "-hoist-next"
	// suffixOld is the old container while a swap is in progress.
	suffixOld = "-hoist-old"
	// suffixPrev is the old container kept, stopped, for a manual rollback.
	suffixPrev = "-hoist-prev"
	// suffixSuperseded is an earlier kept previous while a newer swap runs.
	suffixSuperseded = "-hoist-superseded"
)

// Labels hoist puts on the containers it creates.
const (
	// LabelSwapOf holds the ID of the container this one replaced.
	LabelSwapOf = "hoist.swap.of"
	// LabelSwapName holds the name the swap is for.
	LabelSwapName = "hoist.swap.name"
	// LabelWatch holds how long the replacement is watched once it holds the name (a
	// Go duration): a hoist restarted without its store watches it again for that long.
	LabelWatch = "hoist.watch"
	// LabelPreviousExpires holds when the replaced container may be removed (RFC 3339).
	LabelPreviousExpires = "hoist.previous.expires"
	// LabelAfter, set by the user, names the containers (or services of the same
	// compose project) of a group that are replaced before this one ("db,cache").
	LabelAfter = "hoist.after"
)

const (
	defaultGrace       = 60 * time.Second
	defaultRecoverWait = 60 * time.Second
	pollEvery          = 200 * time.Millisecond
	logTail            = 50
)

// Backend updates standalone containers. It holds no state of its own: everything it
// needs to resume is in the engine.
type Backend struct {
	c           *client.Client
	reads       reads // what listings read of each container (list.go)
	log         zerolog.Logger
	grace       time.Duration
	recoverWait time.Duration
	now         func() time.Time
	// scope, when set, says which containers Recover and Prune may touch.
	scope func(name string, labels map[string]string) bool
	// pruneImages removes the image of a container hoist discards once nothing uses it.
	pruneImages bool
	// self is the ID of the container hoist runs in, selfExe its binary there (self.go).
	self, selfExe string
	// ev follows the engine's container events: the listing they keep current, and
	// what wakes the health gate and the watch before their next poll (events.go).
	ev stream
}

// inScope reports whether Recover and Prune may touch the container called name.
func (b *Backend) inScope(name string, labels map[string]string) bool {
	return b.scope == nil || b.scope(name, labels)
}

// Option configures a Backend.
type Option func(*Backend)

// WithLogger sets the logger used outside Update (Rollback, Finish, Prune).
func WithLogger(l zerolog.Logger) Option { return func(b *Backend) { b.log = l } }

// WithScope limits Recover and Prune to the containers in scope (by the original
// container's name and labels): a hoist only repairs what its own policies govern, and
// leaves alone what another hoist on the same engine is doing.
func WithScope(in func(name string, labels map[string]string) bool) Option {
	return func(b *Backend) { b.scope = in }
}

// WithGracePeriod bounds how long a swap may take to finish or reverse after its
// context was cancelled (shutdown). It also bounds manual rollbacks' health wait.
func WithGracePeriod(d time.Duration) Option { return func(b *Backend) { b.grace = d } }

// WithImagePruning removes the image of a container hoist discards (replaced, expired,
// rolled back from) once no container uses it, so hosts do not fill up with old
// versions. Docker refuses to remove an image a container still uses or that has other
// tags; hoist leaves such images alone.
func WithImagePruning(on bool) Option { return func(b *Backend) { b.pruneImages = on } }

// WithRecoverWait bounds how long Recover waits for a half-swapped container's health.
func WithRecoverWait(d time.Duration) Option { return func(b *Backend) { b.recoverWait = d } }

// New returns a backend using c.
func New(c *client.Client, opts ...Option) *Backend {
	b := &Backend{c: c, log: zerolog.Nop(), grace: defaultGrace, recoverWait: defaultRecoverWait, now: time.Now}
	for _, o := range opts {
		o(b)
	}
	return b
}

var _ updater.Backend = (*Backend)(nil)

// Kind is policy.Container.
func (b *Backend) Kind() policy.Kind { return policy.Container }

// graceCtx is a context that survives the cancellation of ctx for the grace period:
// used to finish or reverse a swap during shutdown.
func (b *Backend) graceCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), b.grace)
}
