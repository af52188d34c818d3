package swarm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// maxSequenceRetries bounds how often an update is retried after a concurrent change.
const maxSequenceRetries = 5

// inspect fetches a service with a bounded request.
func (b *Backend) inspect(ctx context.Context, id string) (swarm.Service, error) {
	ctx, cancel := context.WithTimeout(ctx, b.call)
	defer cancel()
	res, err := b.c.ServiceInspect(ctx, id, client.ServiceInspectOptions{})
	if err != nil {
		return swarm.Service{}, fmt.Errorf("inspect service %s: %w", id, err)
	}
	return res.Service, nil
}

// update sends the spec that change builds from the service as it is now, and retries
// with a fresh inspect when another writer got there first. It returns the service as
// inspected right before the accepted request: its UpdateStatus is the one to ignore.
// change returns false when nothing needs sending.
func (b *Backend) update(ctx context.Context, id string, auth string, change func(swarm.Service) (swarm.ServiceSpec, bool)) (before swarm.Service, sent bool, err error) {
	for attempt := 0; ; attempt++ {
		svc, err := b.inspect(ctx, id)
		if err != nil {
			return swarm.Service{}, false, err
		}
		spec, ok := change(svc)
		if !ok {
			return svc, false, nil
		}
		err = b.send(ctx, svc, client.ServiceUpdateOptions{Version: svc.Version, Spec: spec, EncodedRegistryAuth: auth})
		if err == nil {
			return svc, true, nil
		}
		if !outOfSequence(err) || attempt >= maxSequenceRetries {
			return svc, false, fmt.Errorf("update service %s: %w", svc.Spec.Name, err)
		}
	}
}

// requestRollback asks Swarm to swap the service's spec with its previous one, while
// the spec still runs from. It returns the update status the rollback replaced, never
// nil: the rollback's own status is the first one newer than it. When a concurrent
// writer got there first and the spec no longer runs from (another hoist, or an
// operator, rolled it back already), nothing is sent — a second "previous" would swap
// the failed image back in — and the status is nil: there is no newer one to wait for.
func (b *Backend) requestRollback(ctx context.Context, svc swarm.Service, from string) (*swarm.UpdateStatus, error) {
	for attempt := 0; ; attempt++ {
		if got := specImage(svc.Spec); got != from {
			return nil, nil
		}
		err := b.send(ctx, svc, client.ServiceUpdateOptions{
			Version:          svc.Version,
			Spec:             svc.Spec,
			Rollback:         "previous",
			RegistryAuthFrom: swarm.RegistryAuthFromPreviousSpec,
		})
		if err == nil {
			if svc.UpdateStatus == nil {
				return &swarm.UpdateStatus{StartedAt: &time.Time{}}, nil
			}
			return svc.UpdateStatus, nil
		}
		if !outOfSequence(err) || attempt >= maxSequenceRetries {
			return nil, fmt.Errorf("request rollback of service %s: %w", svc.Spec.Name, err)
		}
		if svc, err = b.inspect(ctx, svc.ID); err != nil {
			return nil, err
		}
	}
}

func (b *Backend) send(ctx context.Context, svc swarm.Service, opts client.ServiceUpdateOptions) error {
	ctx, cancel := context.WithTimeout(ctx, b.call)
	defer cancel()
	_, err := b.c.ServiceUpdate(ctx, svc.ID, opts)
	return err
}

// outOfSequence reports whether an update lost a race with another writer. Swarm
// answers with a plain 500 and this message, no typed error, so the message is all
// there is to go on; this is the one place that looks at it.
func outOfSequence(err error) bool {
	return err != nil && strings.Contains(err.Error(), "update out of sequence")
}
