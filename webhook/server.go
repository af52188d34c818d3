package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/hoist-dev/hoist/config"
	httpproblem "github.com/hoist-dev/hoist/internal/problem"
	"github.com/hoist-dev/hoist/registry"
)

// Sink receives the events webhooks produce. Enqueue must not block (the updater's
// never waits on the engine; it is called in the request); it returns false when no
// policy watches the repository (the sender is still answered 202). EnqueueAfter hands
// ev to Enqueue after d, once per repo:tag however often it is asked meanwhile, on the
// sink's own timer (the updater's re-check timer): the server runs none.
type Sink interface {
	Enqueue(ev registry.PushEvent) bool
	EnqueueAfter(ev registry.PushEvent, d time.Duration)
}

// Server holds the configured sources and the state they share: delivery ids seen,
// recent repository:tag events, and one rate limiter per source.
type Server struct {
	// table is the sources in force and the body cap, swapped whole by Reload; a
	// delivery reads it once.
	table    atomic.Pointer[sourceTable]
	sink     Sink
	log      zerolog.Logger
	rejected zerolog.Logger // sampled: floods of bad requests must not flood the log
	seen     *ttlSet        // delivery ids
	recent   *ttlSet        // repository:tag coalescing
	now      func() time.Time
	count    func(name string, labels ...string)
	// mem bounds the memory of the deliveries in flight together (memTotal bytes, see
	// budget.go).
	mem      *budget
	memTotal int64
}

// Option tunes a Server.
type Option func(*Server)

// WithCount counts rejected requests (hoist_webhook_rejected_total{source,reason}) with f.
func WithCount(f func(name string, labels ...string)) Option {
	return func(s *Server) { s.count = f }
}

// source is one mounted sender.
type source struct {
	name      string
	pathToken bool // the token is the last path segment
	auth      authenticator
	parse     func(body []byte) ([]registry.PushEvent, error)
	// deliveryHeaders name the headers carrying a per-delivery id, if the sender sends one.
	deliveryHeaders []string
	limiter         *rate.Limiter
}

// Tuning that is not configuration.
const (
	dedupeTTL      = 24 * time.Hour // EventBridge retries for 24 h; GitHub redelivers by hand
	dedupeMax      = 16384
	coalesceWindow = time.Second // a multi-arch push sends one event per manifest
	coalesceMax    = 4096
)

// New builds a Server for every source in cfg with a usable secret; sources without
// one are left out (config validation has already said why). New reads no request;
// the only I/O is reading the GAR OIDC keys file, whose failure is logged and makes
// GAR refuse requests until the file can be read.
func New(cfg config.Webhooks, sink Sink, log zerolog.Logger, opts ...Option) *Server {
	lim := cfg.Limits.WithDefaults()
	s := &Server{
		count:    func(string, ...string) {},
		sink:     sink,
		log:      log,
		rejected: log.Sample(&zerolog.BurstSampler{Burst: 10, Period: time.Minute}),
		seen:     newTTLSet(dedupeTTL, dedupeMax),
		recent:   newTTLSet(coalesceWindow, coalesceMax),
		now:      time.Now,
	}
	s.table.Store(newSourceTable(sourcesOf(cfg, lim, s), int64(lim.MaxBody)))
	for _, o := range opts {
		o(s)
	}
	s.memTotal = max(defaultBudget, bodyCost*int64(lim.MaxBody)) // one delivery of max_body always fits
	s.mem = newBudget(s.memTotal)
	return s
}

func headerAuth(c config.HeaderSource) authenticator {
	h := c.HeaderName()
	mode := verbatim
	if http.CanonicalHeaderKey(h) == "Authorization" {
		mode = flexible
	}
	return &headerToken{header: h, mode: mode, secret: newSecretEq(c.Token.Value())}
}

// Sources lists the mounted sources, for the startup log.
func (s *Server) Sources() []string {
	return s.table.Load().names
}

// Register mounts POST /webhooks/<source> (or /webhooks/<source>/<token>) for each
// source configured now or after a reload, and a problem (404, or 405 with Allow) for
// everything else under /webhooks/.
func (s *Server) Register(e *echo.Echo) {
	e.Any("/webhooks/*", s.route)
}

// route finds the source a request names in the sources in force.
func (s *Server) route(c echo.Context) error {
	if c.Request().Method != http.MethodPost {
		c.Response().Header().Set("Allow", http.MethodPost)
		return writeProblem(c, http.StatusMethodNotAllowed, "webhooks are POST requests")
	}
	t := s.table.Load()
	name, token, withToken := strings.Cut(c.Param("*"), "/")
	src := t.byName[name]
	if src == nil || withToken && (!src.pathToken || strings.Contains(token, "/")) {
		return writeProblem(c, http.StatusNotFound, "no webhook source is configured at this path")
	}
	return s.handle(c, t, src, token) // without a token, a path-token source answers 401
}

// problemSlugs gives each status the webhook receiver answers its problem type's slug;
// the title and the shape are internal/problem's, the same as the API's.
var problemSlugs = map[int]string{
	http.StatusBadRequest:            "bad-payload",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusNotFound:              "not-found",
	http.StatusMethodNotAllowed:      "method-not-allowed",
	http.StatusRequestEntityTooLarge: "too-large",
	http.StatusUnprocessableEntity:   "too-many-events",
	http.StatusTooManyRequests:       "rate-limited",
	http.StatusServiceUnavailable:    "service-unavailable",
}

// writeProblem answers status with detail, hoist's own words, as application/problem+json.
func writeProblem(c echo.Context, status int, detail string) error {
	return httpproblem.Write(c, httpproblem.New(status, problemSlugs[status], detail))
}

// maxEcho is how many characters of a sender's value an error message repeats.
const maxEcho = 80

// payloadDetail says why a payload was refused, without Go's words for its types and
// with each value it quotes cut to maxEcho characters.
func payloadDetail(source string, err error) string {
	if !errors.Is(err, errBadName) {
		return "malformed payload: not the JSON of a " + source + " push notification"
	}
	return cutQuoted(err.Error())
}

// cutQuoted shortens every Go-quoted string in msg longer than maxEcho characters.
func cutQuoted(msg string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '"')
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		b.WriteString(msg[:i])
		q, err := strconv.QuotedPrefix(msg[i:])
		if err != nil {
			b.WriteString(msg[i:])
			return b.String()
		}
		msg = msg[i+len(q):]
		if v, err := strconv.Unquote(q); err == nil && utf8.RuneCountInString(v) > maxEcho {
			q = strconv.Quote(string([]rune(v)[:maxEcho]) + "…")
		}
		b.WriteString(q)
	}
}

type acceptBody struct {
	Status string `json:"status"` // accepted | ignored | duplicate
	Events int    `json:"events"` // events handed on (not coalesced, not duplicate)
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// handle answers one delivery to src, under the body cap of t.
func (s *Server) handle(c echo.Context, t *sourceTable, src *source, token string) error {
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 {
			bodyPool.Put(buf)
		}
	}()
	status, res := s.accept(src, t.maxBody, c, token, buf)
	if status >= 400 {
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			c.Response().Header().Set("Retry-After", "1")
		}
		return writeProblem(c, status, res.Status)
	}
	return c.JSON(status, res)
}

// accept runs one request through the pipeline. For errors, res.Status is the message.
func (s *Server) accept(src *source, maxBody int64, c echo.Context, token string, buf *bytes.Buffer) (int, acceptBody) {
	r := c.Request()
	fail := func(status int, outcome, msg string) (int, acceptBody) {
		s.rejected.Warn().Str("source", src.name).Str("outcome", outcome).Str("reason", msg).
			Str("remote", r.RemoteAddr).Msg("webhook rejected")
		s.count("hoist_webhook_rejected_total", "source", src.name, "reason", outcome)
		return status, acceptBody{Status: msg}
	}
	if r.ContentLength > maxBody {
		return fail(http.StatusRequestEntityTooLarge, "too_large", "body larger than "+strconv.FormatInt(maxBody, 10)+" bytes")
	}
	size := r.ContentLength
	if size < 0 {
		size = maxBody // chunked: it may still grow to the cap
	}
	cost := min(bodyCost*size, s.memTotal)
	if !s.mem.acquire(cost, budgetWait) {
		return fail(http.StatusServiceUnavailable, "busy", "too many deliveries in flight; retry later")
	}
	defer s.mem.release(cost)
	buf.Grow(int(size) + bytes.MinRead) // one allocation for the whole body
	if _, err := buf.ReadFrom(http.MaxBytesReader(c.Response(), r.Body, maxBody)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fail(http.StatusRequestEntityTooLarge, "too_large", "body larger than "+strconv.FormatInt(maxBody, 10)+" bytes")
		}
		return fail(http.StatusBadRequest, "read_error", "could not read body")
	}
	body := buf.Bytes()
	if ok, why := src.auth.authenticate(r, token, body); !ok {
		return fail(http.StatusUnauthorized, "unauthorized", why)
	}
	if !src.limiter.Allow() {
		return fail(http.StatusTooManyRequests, "rate_limited", "too many requests; retry later")
	}
	evs, err := src.parse(body)
	if errors.Is(err, errTooMany) {
		return fail(http.StatusUnprocessableEntity, "too_many_events", "a delivery may list at most "+strconv.Itoa(MaxEvents)+" events")
	}
	if err != nil {
		if errors.Is(err, errBadName) {
			s.rejected.Warn().Str("source", src.name).Str("outcome", "bad_request").Msg("webhook names a bad repository or tag")
		} else {
			s.rejected.Warn().Str("source", src.name).Str("outcome", "bad_request").Msg("webhook payload is malformed")
		}
		s.count("hoist_webhook_rejected_total", "source", src.name, "reason", "bad_request")
		return http.StatusBadRequest, acceptBody{Status: payloadDetail(src.name, err)}
	}
	now := s.now()
	delivery := ""
	for _, h := range src.deliveryHeaders {
		if delivery = deliveryID(r.Header.Get(h)); delivery != "" {
			break
		}
	}
	if delivery != "" && s.seen.add(src.name+"\x00"+delivery, now) {
		s.log.Info().Str("source", src.name).Str("outcome", "duplicate").Msg("webhook delivery already seen")
		return http.StatusAccepted, acceptBody{Status: "duplicate"}
	}
	if len(evs) == 0 {
		s.log.Debug().Str("source", src.name).Str("outcome", "ignored").Msg("webhook carries no tag push")
		return http.StatusAccepted, acceptBody{Status: "ignored"}
	}
	handed, dup := s.hand(src, evs, delivery, now)
	if dup == len(evs) {
		return http.StatusAccepted, acceptBody{Status: "duplicate"}
	}
	return http.StatusAccepted, acceptBody{Status: "accepted", Events: handed}
}

// hand gives each event of one delivery to the sink, unless it was seen (its own
// delivery id) or coalesced with the same push moments ago, and returns how many were
// handed on and how many were duplicates. It logs one line for the delivery, with
// the count of each outcome.
func (s *Server) hand(src *source, evs []registry.PushEvent, delivery string, now time.Time) (handed, dup int) {
	var tally outcomes
	for _, ev := range evs {
		ev.Source = src.name
		ev.DeliveryID = deliveryID(ev.DeliveryID)
		if delivery != "" {
			ev.DeliveryID = delivery
		} else if ev.DeliveryID != "" && s.seen.add(src.name+"\x00"+ev.DeliveryID, now) {
			tally.add("duplicate", ev)
			continue
		}
		if s.recent.add(ev.Key(), now) {
			s.trail(ev)
			tally.add("coalesced", ev)
			continue
		}
		outcome := "enqueued"
		if !s.sink.Enqueue(ev) {
			outcome = "unwatched"
		}
		tally.add(outcome, ev)
	}
	tally.log(s.log, src.name)
	n := tally.n
	return n["enqueued"] + n["unwatched"], n["duplicate"]
}

// maxDeliveryID is the longest delivery id kept as sent. Senders use UUIDs or
// numbers; anything else still dedupes, by its hash.
const maxDeliveryID = 64

// deliveryID returns id as it is remembered and handed on: as sent when it is short
// printable ASCII, else "sha256:<hex>" of it. The dedupe set holds dedupeMax ids for
// a day, and ids come from headers and bodies, so what it keeps per id must not grow
// with what a sender puts there (nor put control characters into logs downstream).
func deliveryID(id string) string {
	if id == "" {
		return ""
	}
	if len(id) <= maxDeliveryID && !strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// RedactPath returns a request path safe to log: the token segment of a
// /webhooks/<source>/<token> path is replaced. Request loggers should use it.
func RedactPath(p string) string {
	const prefix = "/webhooks/"
	if len(p) <= len(prefix) || p[:len(prefix)] != prefix {
		return p
	}
	rest := p[len(prefix):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			return prefix + rest[:i] + "/<token>"
		}
	}
	return p
}

// trail enqueues ev once more when the coalescing window ends: the burst's first event
// went through at once, and this one covers anything pushed during the window. The
// updater then finds the workload already on the newest digest, or moves it. The
// sink's timer does the waiting, once per repo:tag.
func (s *Server) trail(ev registry.PushEvent) { s.sink.EnqueueAfter(ev, coalesceWindow) }
