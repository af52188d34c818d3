package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/container"
)

// Check runs one check of every workload in this process, changing nothing. The store
// is read shared; when another process holds it, a scratch one is used and stderr
// says that quarantined digests are not shown.
func Check(ctx context.Context, cfg *config.Config, stderr io.Writer) ([]updater.Status, error) {
	set, plans, _, err := Policies(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := ConnectDocker(ctx, cfg.Docker)
	if err != nil {
		return nil, err
	}
	defer dc.Close()
	st, err := OpenStore(cfg.DataDir, true)
	if err != nil {
		dir, derr := os.MkdirTemp("", "hoist-check")
		if derr != nil {
			return nil, derr
		}
		defer os.RemoveAll(dir)
		if !errors.Is(err, os.ErrNotExist) { // no store yet: nothing is quarantined
			fmt.Fprintf(stderr, "note: %v; quarantined digests are not shown\n", err)
		}
		if st, err = OpenStore(dir, false); err != nil {
			return nil, err
		}
	}
	defer st.Close()
	u := newUpdater(parts{cfg: cfg, set: set, plans: plans, backends: backends(ctx, dc, container.New(dc), zerolog.Nop()),
		resolver: NewRegistry(cfg), store: st, sigReg: NewRegistry(cfg), log: NewLogger(cfg.Log, stderr)})
	return u.Check(ctx, false, "check")
}
