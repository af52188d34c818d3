package config

import (
	"time"

	"github.com/hoist-dev/hoist/policy"
)

// Config is the whole configuration file.
type Config struct {
	Listen     string     `yaml:"listen" json:"listen"`
	DataDir    string     `yaml:"data_dir" json:"data_dir"`
	Docker     Docker     `yaml:"docker" json:"docker"`
	Registries []Registry `yaml:"registries" json:"registries,omitempty"`
	API        API        `yaml:"api" json:"api"`
	UI         UI         `yaml:"ui" json:"ui"`
	Webhooks   Webhooks   `yaml:"webhooks" json:"webhooks"`
	Poll       Poll       `yaml:"poll" json:"poll"`
	Log        Log        `yaml:"log" json:"log"`
	Notify     []Notify   `yaml:"notify" json:"notify,omitempty"`
	History    History    `yaml:"history" json:"history"`
	Policies   []Policy   `yaml:"policies" json:"policies"`
}

// Docker says how to reach the engine.
type Docker struct {
	// Host is a Docker host URL; empty means DOCKER_HOST or the usual socket.
	Host string `yaml:"host" json:"host,omitempty"`
	// PruneImages removes the image of a container hoist replaced (once the kept
	// previous container is gone too) when no other container uses it.
	PruneImages bool `yaml:"prune_images" json:"prune_images,omitempty"`
}

// Registry holds credentials and transport settings for one registry host.
type Registry struct {
	Host     string `yaml:"host" json:"host"`
	Username string `yaml:"username" json:"username,omitempty"`
	Password Secret `yaml:"password" json:"password,omitempty"`
	// Insecure allows plain HTTP. It is implied for localhost and 127.0.0.0/8.
	Insecure bool `yaml:"insecure" json:"insecure,omitempty"`
	// Timeout bounds each request to this registry, answer and body included; nil
	// means DefaultRegistryTimeout.
	Timeout *Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// API configures the JSON API under /api/v1.
type API struct {
	// Token is required as "Authorization: Bearer <token>"; without it the API is not mounted.
	Token Secret `yaml:"token" json:"token,omitempty"`
}

// Poll configures digest polling.
type Poll struct {
	// Interval between cycles; 0 turns polling off.
	Interval Duration `yaml:"interval" json:"interval"`
	// Jitter delays each cycle by a random amount up to this much.
	Jitter Duration `yaml:"jitter" json:"jitter"`
	// Concurrency bounds in-flight requests per registry.
	Concurrency int `yaml:"concurrency" json:"concurrency"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level" json:"level"`   // debug | info | warn | error
	Format string `yaml:"format" json:"format"` // auto | json | console
}

// Policy says which workloads follow which tags, and how they roll out.
type Policy struct {
	Name  string `yaml:"name" json:"name"`
	Match Match  `yaml:"match" json:"match"`
	// Update is digest (same tag, new digest), semver (newest tag in Semver), tags (the
	// tag Tags orders first) or none (watch only).
	Update string `yaml:"update" json:"update"`
	Semver string `yaml:"semver" json:"semver,omitempty"`
	Tags   *Tags  `yaml:"tags" json:"tags,omitempty"`
	// Interval overrides poll.interval for this policy's workloads.
	Interval *Duration `yaml:"interval" json:"interval,omitempty"`
	Rollout  Rollout   `yaml:"rollout" json:"rollout"`
	Health   Health    `yaml:"health" json:"health"`
	// When limits when rollouts start: maintenance windows and a minimum digest age.
	When When `yaml:"when" json:"when"`
	// Watchtower, when present, makes this policy honour Watchtower's container labels.
	Watchtower *Watchtower `yaml:"watchtower" json:"watchtower,omitempty"`
	// Verify, when present, rolls out only digests signed as it says (verify.go).
	Verify *Verify `yaml:"verify" json:"verify,omitempty"`
	// Gate, when present, is a metric that must stay below a threshold during a soak
	// before this policy's workloads get a digest (when.after) and a canary's hold.
	Gate *Gate `yaml:"gate" json:"gate,omitempty"`
}

// Match selects workloads. Globs are matched against names; every label must match.
type Match struct {
	Services   []string          `yaml:"services" json:"services,omitempty"`
	Containers []string          `yaml:"containers" json:"containers,omitempty"`
	Labels     map[string]string `yaml:"labels" json:"labels,omitempty"`
}

// Rollout holds rolling-update settings.
type Rollout struct {
	Parallelism     int      `yaml:"parallelism" json:"parallelism"`
	Delay           Duration `yaml:"delay" json:"delay"`
	Order           string   `yaml:"order" json:"order"` // start-first | stop-first
	Monitor         Duration `yaml:"monitor" json:"monitor"`
	MaxFailureRatio float64  `yaml:"max_failure_ratio" json:"max_failure_ratio"`
	// KeepPrevious keeps a replaced container (stopped, renamed) this long for a manual rollback.
	KeepPrevious Duration `yaml:"keep_previous" json:"keep_previous"`
	// ComposeFile is what to do with a compose project's file when a compose service
	// moves to another tag: warn (the default) or write (see compose.go).
	ComposeFile string `yaml:"compose_file" json:"compose_file,omitempty"`
	// Canary, when present, rolls the new digest out to a few tasks (or a group's first
	// containers) for a hold before the rest (canary.go).
	Canary *Canary `yaml:"canary" json:"canary,omitempty"`
	// Written names the Swarm settings above the file sets (parallelism, delay, order,
	// monitor, max_failure_ratio). A Swarm service keeps its own value for the others.
	Written []string `yaml:"-" json:"-"`
}

// Health configures hoist's own health watch.
type Health struct {
	// Watch is how long to keep watching after the rollout reports completion.
	Watch Duration `yaml:"watch" json:"watch"`
	// Timeout bounds the whole rollout, watch included.
	Timeout Duration   `yaml:"timeout" json:"timeout"`
	HTTP    *HTTPProbe `yaml:"http" json:"http,omitempty"`
}

// HTTPProbe is an optional HTTP check against new containers or service tasks.
type HTTPProbe struct {
	Port int    `yaml:"port" json:"port"`
	Path string `yaml:"path" json:"path"`
}

// Defaults applied to fields left empty.
const (
	DefaultListen      = "127.0.0.1:8080"
	DefaultDataDir     = "./hoist-data"
	DefaultPoll        = 5 * time.Minute
	DefaultConcurrency = 8
	// DefaultRegistryTimeout bounds each request to a registry without its own timeout.
	DefaultRegistryTimeout = 20 * time.Second
	// MinPollInterval is the shortest poll interval: more often would hammer the registries.
	MinPollInterval = time.Second
	// MaxRegistryTimeout is the longest timeout a registry may be given.
	MaxRegistryTimeout = 10 * time.Minute
)

func (c *Config) applyDefaults(set func(path string) bool) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if !set("$.poll.interval") {
		c.Poll.Interval = Duration(DefaultPoll)
	}
	if c.Poll.Concurrency == 0 {
		c.Poll.Concurrency = DefaultConcurrency
	}
	if c.History.Keep == (Keep{}) {
		c.History.Keep = Keep{Count: DefaultHistoryKeep}
	}
	c.UI.applyDefaults()
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "auto"
	}
	for i := range c.Notify {
		n := &c.Notify[i]
		if n.Format == "" && n.Service() == "" {
			n.Format = "json"
		}
		if len(n.On) == 0 {
			n.On = append([]string{}, DefaultNotifyOn...)
		}
	}
	for i := range c.Policies {
		p := &c.Policies[i]
		if p.Update == "" {
			p.Update = "digest"
		}
		if p.Tags != nil {
			p.Tags.applyDefaults(set(pathf("$.policies[%d].tags.exclude", i)))
		}
		r := &p.Rollout
		r.Written = nil
		for _, k := range []string{"parallelism", "delay", "order", "monitor", "max_failure_ratio"} {
			if set(pathf("$.policies[%d].rollout.%s", i, k)) {
				r.Written = append(r.Written, k)
			}
		}
		if r.Parallelism == 0 {
			r.Parallelism = 1
		}
		if r.Order == "" {
			r.Order = "start-first"
		}
		if !set(pathf("$.policies[%d].rollout.monitor", i)) {
			r.Monitor = Duration(5 * time.Second)
		}
		if !set(pathf("$.policies[%d].rollout.keep_previous", i)) {
			r.KeepPrevious = Duration(24 * time.Hour)
		}
		h := &p.Health
		if !set(pathf("$.policies[%d].health.watch", i)) {
			h.Watch = Duration(30 * time.Second)
		}
		if h.Timeout == 0 {
			h.Timeout = Duration(policy.DefaultTimeout)
		}
		if h.HTTP != nil && h.HTTP.Path == "" {
			h.HTTP.Path = "/"
		}
	}
}
