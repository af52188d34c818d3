package main

import (
	"context"
	"flag"
	"io"
	"os"
	"time"

	"github.com/hoist-dev/hoist/internal/demo"
)

const demoSummary = `Show hoist at work on this machine, in about a minute. On the Docker engine of
DOCKER_HOST (or the usual socket) the demo starts a registry on 127.0.0.1, builds
images of a small web app without any base image (the app is this hoist binary), runs
them as a Swarm service of 2 replicas answering on 127.0.0.1:PORT (a standalone
container when the engine is not a Swarm manager, or with --containers), and runs
hoist in this process. Then, told as it happens from hoist's own API:
  1. v2 is pushed; the registry's webhook reaches hoist, which rolls it out and watches it;
  2. v3, which crashes 8 s after it starts, is pushed: hoist catches the crash after
     Swarm said "completed", rolls back to v2 and quarantines v3; a second push is ignored;
  3. hoist.yaml is edited to add when.approve and hoist reloads it (SIGHUP, no restart);
     v4 is then held until it is approved: by the demo with --yes, else by the hoist
     approve command it prints (or Enter, on a terminal);
  4. a summary, with how many of the requests sent to the service all along got an answer.
Ctrl-C at any point removes everything the demo created; --keep leaves it for exploring.
The images run this very binary, so it must be linked statically (CGO_ENABLED=0;
scripts/run.sh builds it so).`

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", demoSummary, stderr)
	o := demo.Options{Out: stdout, Stdin: os.Stdin, ApproveWait: 10 * time.Minute}
	fs.StringVar(&o.Name, "name", "hoist-demo", "name of the demo's service or container (and of its images)")
	fs.IntVar(&o.Port, "port", 8088, "port on 127.0.0.1 where the demo app answers (another free one when 8088 is taken)")
	fs.BoolVar(&o.Containers, "containers", false, "use a standalone container even on a Swarm manager")
	fs.BoolVar(&o.Yes, "yes", false, "approve the update held for approval without waiting for you")
	fs.BoolVar(&o.Keep, "keep", false, "at the end keep hoist and its dashboard serving until Ctrl-C, then leave the workload, images and data for exploring")
	fs.BoolVar(&o.Clean, "clean", false, "only remove what an earlier demo of this --name left (after --keep), then exit")
	fs.StringVar(&o.DockerHost, "docker-host", "", "Docker host URL (default: DOCKER_HOST, then the usual socket)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	fs.Visit(func(f *flag.Flag) { o.PortSet = o.PortSet || f.Name == "port" })
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o.Binary = exe
	return demo.Run(ctx, o)
}
