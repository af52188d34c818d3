//go:build cluster

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
)

// The cluster tests run on the five-node Swarm of scripts/cluster.sh (three managers,
// two workers, a registry that requires credentials); `scripts/cluster.sh env` gives
// the HOIST_CLUSTER_* variables they read. Without it they skip, or fail when CI=true.
// The tests that restart, drain or cut off a node run one at a time; those that
// disturb no node then run side by side (t.Parallel), each on services of its own.

// cluster is the running test cluster.
type cluster struct {
	dir                string
	managers, workers  []string
	registry           string // host:port, plain HTTP, htpasswd auth
	user, pass         string // hoist's credentials
	deployUser, deploy string // the operator's, who creates the services
	script             string // scripts/cluster.sh
	mu                 sync.Mutex
	clients            map[string]*client.Client
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	get := os.Getenv
	c := &cluster{
		dir: get("HOIST_CLUSTER_DIR"), registry: get("HOIST_CLUSTER_REGISTRY"),
		managers: strings.Fields(get("HOIST_CLUSTER_MANAGERS")), workers: strings.Fields(get("HOIST_CLUSTER_WORKERS")),
		user: get("HOIST_CLUSTER_USER"), pass: get("HOIST_CLUSTER_PASSWORD"),
		deployUser: get("HOIST_CLUSTER_DEPLOY_USER"), deploy: get("HOIST_CLUSTER_DEPLOY_PASSWORD"),
		script: get("HOIST_CLUSTER_SCRIPT"), clients: map[string]*client.Client{},
	}
	if c.dir == "" || len(c.managers) < 3 || len(c.workers) < 2 || c.registry == "" {
		testenv.Missing(t, `no multi-node cluster: run scripts/cluster.sh start and eval "$(scripts/cluster.sh env)"`)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.client(t, c.managers[0]).NodeList(ctx, client.NodeListOptions{})
	if err != nil || len(res.Items) != len(c.managers)+len(c.workers) {
		testenv.Missing(t, fmt.Sprintf("the cluster does not answer with all its nodes (%d nodes, %v)", len(res.Items), err))
	}
	emptyDockerConfig.Do(func() {
		// hoist has only its config's credentials: no Docker config of the machine's.
		dir, err := os.MkdirTemp("", "hoist-cluster-docker-config")
		if err == nil {
			err = os.Setenv("DOCKER_CONFIG", dir)
		}
		if err != nil {
			t.Fatal(err)
		}
	})
	start := time.Now()
	t.Cleanup(func() { t.Logf("%s took %s", t.Name(), time.Since(start).Round(100*time.Millisecond)) })
	return c
}

// emptyDockerConfig points DOCKER_CONFIG, for the hoist processes every cluster test
// starts, at an empty directory once per test binary (t.Setenv would keep the tests
// that disturb no node from running side by side).
var emptyDockerConfig sync.Once

// sock is node n's engine address for the host.
func (c *cluster) sock(n string) string { return "unix://" + c.dir + "/" + n + "/docker.sock" }

// client is an engine client for node n.
func (c *cluster) client(t *testing.T, n string) *client.Client {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if dc, ok := c.clients[n]; ok {
		return dc
	}
	dc, err := client.New(client.WithHost(c.sock(n)))
	if err != nil {
		t.Fatal(err)
	}
	c.clients[n] = dc
	t.Cleanup(func() { dc.Close() })
	return dc
}

// manager is a client for the first manager that answers.
func (c *cluster) manager(t *testing.T) *client.Client {
	t.Helper()
	for _, n := range c.managers {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.client(t, n).ServiceList(ctx, client.ServiceListOptions{})
		cancel()
		if err == nil {
			return c.client(t, n)
		}
	}
	t.Fatal("no manager answers")
	return nil
}

// auth is an X-Registry-Auth value for the cluster's registry.
func (c *cluster) auth(user, pass string) string {
	b, _ := json.Marshal(map[string]string{"username": user, "password": pass, "serveraddress": c.registry})
	return base64.URLEncoding.EncodeToString(b)
}

// push builds the test program's image and pushes it as the operator; it returns
// the pinned image.
func (c *cluster) push(t *testing.T, ref string, app testenv.App) string {
	t.Helper()
	return testenv.PushPrivate(t, ref, testenv.Image(t, app), c.deployUser, c.deploy)
}

// nodes maps node IDs to hostnames (hoist-n1 …) and back.
func (c *cluster) nodes(t *testing.T) map[string]swarm.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.manager(t).NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]swarm.Node{}
	for _, n := range res.Items {
		m[n.ID] = n
	}
	return m
}

// hostOf is the hostname of the node with this ID.
func hostOf(nodes map[string]swarm.Node, id string) string { return nodes[id].Description.Hostname }

// hasImage reports whether node n has image (repo:tag@digest) locally.
func (c *cluster) hasImage(t *testing.T, n, image string) bool {
	t.Helper()
	_, digest, _ := strings.Cut(image, "@")
	repo, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.client(t, n).ImageInspect(ctx, repo+"@"+digest)
	return err == nil
}

// workerService runs image as a service of one task per worker, created by the
// operator with their credentials; edit, when not nil, changes the spec first.
func (c *cluster) workerService(t *testing.T, name, image string, edit func(*swarm.ServiceSpec)) {
	t.Helper()
	dc := c.manager(t)
	replicas := uint64(len(c.workers))
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: map[string]string{"hoist.test": "cluster"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: image},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny},
			Placement:     &swarm.Placement{Constraints: []string{"node.role==worker"}, MaxReplicas: 1},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}
	if edit != nil {
		edit(&spec)
	}
	_, err := dc.ServiceCreate(context.Background(), client.ServiceCreateOptions{Spec: spec, EncodedRegistryAuth: c.auth(c.deployUser, c.deploy)})
	if err != nil {
		t.Fatalf("create service %s: %v", name, err)
	}
	t.Cleanup(func() { c.manager(t).ServiceRemove(context.Background(), name, client.ServiceRemoveOptions{}) })
	c.waitSpread(t, name, image, 2*time.Minute)
}

// nodeEnv gives each task the hostname of its node in HOIST_NODE (a Swarm template).
func nodeEnv(spec *swarm.ServiceSpec) {
	spec.TaskTemplate.ContainerSpec.Env = append(spec.TaskTemplate.ContainerSpec.Env, "HOIST_NODE={{.Node.Hostname}}")
}

// onWorkers returns the hostnames of the nodes running a task of svc on image.
func (c *cluster) onWorkers(t *testing.T, svc, image string) []string {
	t.Helper()
	nodes := c.nodes(t)
	var hosts []string
	for _, task := range taskHistory(t, c.manager(t), svc) {
		if task.DesiredState == swarm.TaskStateRunning && task.Status.State == swarm.TaskStateRunning && taskImage(task) == image {
			hosts = append(hosts, hostOf(nodes, task.NodeID))
		}
	}
	return hosts
}

// waitSpread waits until every worker runs a task of svc on image.
func (c *cluster) waitSpread(t *testing.T, svc, image string, timeout time.Duration) {
	t.Helper()
	waitFor(t, fmt.Sprintf("service %s running %s on every worker", svc, image), timeout, func() bool {
		return len(c.onWorkers(t, svc, image)) == len(c.workers)
	})
}

func taskImage(task swarm.Task) string {
	if task.Spec.ContainerSpec == nil {
		return ""
	}
	return task.Spec.ContainerSpec.Image
}

// hoistConfig is the serve config of the cluster tests: the cluster's registry with
// hoist's credentials (from the environment) and one policy for svc, its rollout and
// health settings as given (YAML flow mappings' insides).
func (c *cluster) hoistConfig(dockerHost, svc, rollout, health string) string {
	return fmt.Sprintf(`docker: { host: %s }
poll: { interval: 1s }
registries:
  - { host: %q, username: %q, password: "${HOIST_CLUSTER_PASSWORD}", insecure: true }
policies:
  - name: cluster
    match: { services: [%q] }
    rollout: { %s }
    health: { timeout: 4m, %s }
`, dockerHost, c.registry, c.user, svc, rollout, health)
}

// run runs scripts/cluster.sh with args and returns how long it took.
func (c *cluster) run(t *testing.T, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	out, err := exec.Command(c.script, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("cluster.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("cluster.sh %s: %s", strings.Join(args, " "), strings.TrimSpace(string(out)))
	return time.Since(start)
}

// leader is the hostname of the manager that leads the Raft group as the first manager
// that answers sees it, "" while none answers or there is no leader.
func (c *cluster) leader(t *testing.T) string {
	t.Helper()
	for _, m := range c.managers {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := c.client(t, m).NodeList(ctx, client.NodeListOptions{})
		cancel()
		if err != nil {
			continue
		}
		for _, n := range res.Items {
			if n.ManagerStatus != nil && n.ManagerStatus.Leader {
				return n.Description.Hostname
			}
		}
		return ""
	}
	return ""
}

// nodeName maps a hostname (hoist-n2) to the node's name in the script (n2).
func nodeName(hostname string) string { return strings.TrimPrefix(hostname, "hoist-") }
