package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/container"
	"github.com/hoist-dev/hoist/updater/swarm"
)

// EngineAnswerTimeout bounds the engine's first answer: the ping that negotiates the
// API version. A variable so that tests can shorten it.
var EngineAnswerTimeout = 10 * time.Second

// EngineSilentError means the engine's address took the connection (or did not) and
// nothing answered in time.
type EngineSilentError struct {
	Host  string
	After time.Duration
}

func (e *EngineSilentError) Error() string {
	return fmt.Sprintf("docker engine at %s did not answer within %s; is it the engine's address (docker.host, --docker-host, DOCKER_HOST), and is the engine up?", e.Host, e.After)
}

// ConnectDocker builds the engine client, checks that the engine answers and
// negotiates the API version, within EngineAnswerTimeout. A DOCKER_HOST the file's
// docker.host would be refused for is a usage error, before anything is dialled.
func ConnectDocker(ctx context.Context, cfg config.Docker) (*client.Client, error) {
	if h := os.Getenv("DOCKER_HOST"); cfg.Host == "" && h != "" {
		var probe config.Config
		if err := probe.Apply([]config.Override{{Flag: "DOCKER_HOST", Key: "docker.host", Value: h}}); err != nil {
			return nil, &UsageError{Msg: err.Error()}
		}
	}
	opts := []client.Opt{client.FromEnv}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	c, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, EngineAnswerTimeout)
	defer cancel()
	if _, err := c.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		c.Close()
		if ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
			return nil, &EngineSilentError{Host: c.DaemonHost(), After: EngineAnswerTimeout}
		}
		return nil, fmt.Errorf("docker engine at %s: %w", c.DaemonHost(), err)
	}
	return c, nil
}

// backends returns the backends the engine supports: services only on a Swarm manager
// (a worker or a plain engine has none to update), containers always.
func backends(ctx context.Context, dc *client.Client, cb updater.Backend, log zerolog.Logger) []updater.Backend {
	ictx, cancel := context.WithTimeout(ctx, 3*EngineAnswerTimeout)
	defer cancel()
	info, err := dc.Info(ictx, client.InfoOptions{})
	if err == nil && info.Info.Swarm.LocalNodeState == "active" && info.Info.Swarm.ControlAvailable {
		return []updater.Backend{swarm.New(dc), cb}
	}
	why := "this engine is not a Swarm manager"
	if err != nil {
		why = err.Error()
	}
	log.Info().Str("reason", why).Msg("Swarm services are not managed; standalone containers are")
	return []updater.Backend{cb}
}

// containerBackend builds the container backend. Recovery and pruning touch only
// containers the policies in force (live) govern. Rollouts a previous process left
// unfinished, and half-done swaps, are taken up by the updater before it serves any
// event for their workloads (updater/resume.go).
func containerBackend(ctx context.Context, dc *client.Client, cfg *config.Config, live *atomic.Pointer[policy.Set], log zerolog.Logger) *container.Backend {
	return container.New(dc, container.WithLogger(log.With().Str("component", "container").Logger()),
		container.WithImagePruning(cfg.Docker.PruneImages),
		container.WithSelf(container.Self(ctx, dc, log), container.Executable()),
		container.WithScope(func(name string, labels map[string]string) bool {
			r, _ := live.Load().For(policy.Container, name, labels)
			return r != nil
		}))
}
