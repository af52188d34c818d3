#!/usr/bin/env bash
# A Docker Swarm of five nodes on one machine, for hoist's multi-node tests: three
# managers (n1–n3) and two workers (n4, n5), each a dockerd of its own in a network,
# mount and UTS namespace of its own, and a registry that requires credentials.
#
#   scripts/cluster.sh start          # prints how long it took
#   eval "$(scripts/cluster.sh env)"  # HOIST_CLUSTER_* for the tests
#   scripts/cluster.sh status
#   scripts/cluster.sh restart n1     # one node's dockerd killed and started again
#   scripts/cluster.sh down n1; scripts/cluster.sh up n1   # the same in two steps
#   scripts/cluster.sh crash n5       # everything on n5 killed at once (power lost); up n5
#   scripts/cluster.sh stop           # everything removed; safe to run twice
#
# Layout: bridge hoistc0 (10.231.0.1/24) in the root network namespace, where the
# registry listens (10.231.0.1:5000, htpasswd auth, plain HTTP); namespaces hoist-n1…n5
# with a veth each (10.231.0.11–15, default route via the bridge). A node's dockerd has
# its own data root, exec root and cgroup parent under $HOIST_CLUSTER_DIR/nN, its own
# /run (so /var/run/docker.sock is the node's own, as on a real machine), its own /sys
# and hostname hoist-nN. Its API is on $HOIST_CLUSTER_DIR/nN/docker.sock for the host.
set -euo pipefail

root=${HOIST_CLUSTER_DIR:-/tmp/hoist-cluster}
bridge=hoistc0
net=10.231.0
registry=$net.1:5000
managers=(n1 n2 n3)
workers=(n4 n5)
nodes=("${managers[@]}" "${workers[@]}")
# Test credentials of this private cluster: hoist's, and an operator's (who creates
# services). The hashes are bcrypt of these passwords at the lowest cost (4): the
# registry checks one on every request, and at cost 10 that took a minute of CPU per
# test run.
hoist_user=hoist hoist_pass=hoist-cluster-secret
deploy_user=deploy deploy_pass=deploy-cluster-secret
htpasswd='hoist:$2a$04$LVD3DQ65Yo53bMFuPYcNvuCCFbYkavh79wMQIhT.TVfHIsjjOepe.
deploy:$2a$04$jHnM6nqa.lbQ9RL7vKrfLuAX7/sXdUzK/g3c5n.gklcgVPyBI5YcG'

say() { echo "cluster.sh: $*" >&2; }
die() { say "$*"; exit 1; }
addr() { echo "$net.1${1#n}"; }  # n3 → 10.231.0.13
sock() { echo "unix://$root/$1/docker.sock"; }
dk() { local n=$1; shift; DOCKER_HOST=$(sock "$n") timeout 60 docker "$@"; }
up() { DOCKER_HOST=$(sock "$1") timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

preflight() {
  [ "$(id -u)" = 0 ] || die "run as root (it creates network namespaces and a bridge)"
  local missing=()
  for c in dockerd docker docker-registry ip nsenter unshare curl; do
    command -v "$c" >/dev/null || missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]} (apt-get install docker.io docker-registry iproute2 util-linux curl)"
}

# network creates the bridge and one namespace with a veth on it per node.
network() {
  ip link add "$bridge" type bridge
  ip addr add "$net.1/24" dev "$bridge"
  ip link set "$bridge" up
  # With br_netfilter loaded, frames between two ports of a bridge go through the
  # FORWARD chain, whose policy a Docker engine on the host sets to DROP.
  if command -v iptables >/dev/null; then iptables -I FORWARD -i "$bridge" -o "$bridge" -j ACCEPT; fi
  for n in "${nodes[@]}"; do
    ip netns add "hoist-$n"
    ip link add "hc-$n" type veth peer name eth0 netns "hoist-$n"
    ip link set "hc-$n" master "$bridge" up
    ip -n "hoist-$n" addr add "$(addr "$n")/24" dev eth0
    ip -n "hoist-$n" link set lo up
    ip -n "hoist-$n" link set eth0 up
    ip -n "hoist-$n" route add default via "$net.1"
  done
}

# registry runs Debian's docker-registry on the bridge address with htpasswd auth.
registry() {
  local d="$root/registry"
  mkdir -p "$d/data"
  printf '%s\n' "$htpasswd" >"$d/htpasswd"
  cat >"$d/config.yml" <<EOF
version: 0.1
log: { level: info, formatter: json, accesslog: { disabled: true } }
storage:
  filesystem: { rootdirectory: $d/data }
  delete: { enabled: true }
http: { addr: $registry }
auth:
  htpasswd: { realm: hoist-cluster, path: $d/htpasswd }
EOF
  nohup docker-registry serve "$d/config.yml" >>"$d/registry.log" 2>&1 &
  echo $! >"$d/pid"
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$registry/v2/")" = 401 ] && return 0
    sleep 0.1
  done
  tail -20 "$d/registry.log" >&2
  die "the registry did not answer 401 on http://$registry/v2/"
}

# launch starts node n's dockerd inside its namespaces (network, then a mount and UTS
# namespace of its own) and returns at once.
launch() {
  local n=$1 d="$root/$1"
  mkdir -p "$d/cg"
  nohup nsenter --net="/run/netns/hoist-$n" unshare --mount --uts --propagation private sh -euc '
    d=$1 n=$2; shift 2
    mount --rbind /sys/fs/cgroup "$d/cg"    # keep the cgroup mounts across the new /sys
    mount -t sysfs sysfs /sys                # this namespace'"'"'s network devices
    mount --rbind "$d/cg" /sys/fs/cgroup
    umount -l "$d/cg"
    mount -t tmpfs -o mode=755 tmpfs /run    # the node'"'"'s own /var/run/docker.sock
    hostname "hoist-$n"
    exec "$@"' sh "$d" "$n" \
    dockerd --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
      -H unix:///var/run/docker.sock -H "$(sock "$n")" \
      --cgroup-parent "hoist-$n" --insecure-registry "$registry" \
      --storage-driver overlay2 --log-level warn \
    >>"$d/dockerd.log" 2>&1 &
}

# wait_up waits until every node given answers.
wait_up() {
  for n in "$@"; do
    for _ in $(seq 1 240); do up "$n" && continue 2; sleep 0.25; done
    tail -30 "$root/$n/dockerd.log" >&2
    die "dockerd of $n did not come up"
  done
}

# swarm makes n1 the first manager and joins the others.
swarm() {
  dk n1 swarm init --advertise-addr "$(addr n1)" --listen-addr "$(addr n1):2377" >/dev/null
  local mt wt pids=()
  mt=$(dk n1 swarm join-token -q manager)
  wt=$(dk n1 swarm join-token -q worker)
  for n in "${managers[@]:1}"; do
    dk "$n" swarm join --token "$mt" --advertise-addr "$(addr "$n")" --listen-addr "$(addr "$n"):2377" "$(addr n1):2377" >/dev/null
  done
  for n in "${workers[@]}"; do
    dk "$n" swarm join --token "$wt" --advertise-addr "$(addr "$n")" "$(addr n1):2377" >/dev/null &
    pids+=($!)
  done
  wait "${pids[@]}"
  for _ in $(seq 1 120); do
    [ "$(dk n1 node ls --format '{{.Status}}' | grep -c Ready)" = ${#nodes[@]} ] && return 0
    sleep 0.25
  done
  dk n1 node ls >&2
  die "not every node is Ready"
}

start() {
  preflight
  if up n1 && [ "$(dk n1 info --format '{{.Swarm.Nodes}}' 2>/dev/null)" = ${#nodes[@]} ]; then
    say "already running"; return 0
  fi
  stop
  local t0=$SECONDS t1
  mkdir -p "$root"
  # cgroup v1 hosts need the hierarchy mounted; harmless elsewhere.
  if [ ! -e /sys/fs/cgroup/cgroup.controllers ] && [ ! -d /sys/fs/cgroup/cpu ] && command -v cgroupfs-mount >/dev/null; then cgroupfs-mount || true; fi
  network
  registry
  for n in "${nodes[@]}"; do launch "$n"; done
  wait_up "${nodes[@]}"
  t1=$SECONDS
  swarm
  say "engines up in $((t1 - t0))s, swarm of ${#managers[@]} managers and ${#workers[@]} workers formed in $((SECONDS - t1))s; cluster started in $((SECONDS - t0))s"
  limits
}

# limits reports what this kernel lets the cluster do beyond plain tasks.
limits() {
  if ip netns exec hoist-n1 ip link add hoistvx0 type vxlan id 4242 dstport 4789 dev eth0 2>/dev/null; then
    ip netns exec hoist-n1 ip link del hoistvx0
    say "kernel: VXLAN devices can be created (overlay networks)"
  else
    say "kernel: no VXLAN: overlay networks between nodes will not work"
  fi
  if [ -d /proc/sys/net/ipv4/vs ] || grep -qw ip_vs /proc/modules 2>/dev/null; then
    say "kernel: IPVS present"
  else
    say "kernel: no IPVS: the routing mesh (ingress-published ports, VIPs) will not work"
  fi
}

# kill_node stops node n's dockerd and every process left in its namespaces or cgroups.
kill_node() {
  local n=$1 d="$root/$1" pid
  if [ -f "$d/dockerd.pid" ]; then
    pid=$(cat "$d/dockerd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 ${2:-40}); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    rm -f "$d/dockerd.pid"
  fi
  for _ in 1 2 3; do
    pids=$( { ip netns pids "hoist-$n" 2>/dev/null; cat /sys/fs/cgroup/*/"hoist-$n"/*/cgroup.procs /sys/fs/cgroup/"hoist-$n"/*/cgroup.procs 2>/dev/null || true; } | sort -u)
    [ -n "$pids" ] || break
    kill -9 $pids 2>/dev/null || true
    sleep 0.3
  done
  for c in /sys/fs/cgroup/*/"hoist-$n" /sys/fs/cgroup/"hoist-$n"; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

# down kills one node's engine (a quick graceful stop, then SIGKILL for what is left,
# its containers included); up starts it again on the same state; restart does both.
down() {
  local n=${1:?usage: cluster.sh down nN}
  [ -d "$root/$n" ] || die "no node $n"
  local t0=$SECONDS
  kill_node "$n" 8
  say "$n down in $((SECONDS - t0))s"
}

# crash kills everything in node n at once, dockerd and its containers, with no chance
# to report anything: a node that lost power. up starts it again.
crash() {
  local n=${1:?usage: cluster.sh crash nN}
  [ -d "$root/$n" ] || die "no node $n"
  [ -f "$root/$n/dockerd.pid" ] && kill -9 "$(cat "$root/$n/dockerd.pid")" 2>/dev/null || true
  kill_node "$n" 0
  say "$n crashed"
}

up_() {
  local n=${1:?usage: cluster.sh up nN}
  [ -d "$root/$n" ] || die "no node $n"
  local t0=$SECONDS
  launch "$n"
  wait_up "$n"
  say "$n up in $((SECONDS - t0))s"
}

restart() {
  local t0=$SECONDS
  down "$@"
  up_ "$@"
  say "$1 restarted in $((SECONDS - t0))s"
}

stop() {
  for n in "${nodes[@]}"; do kill_node "$n" 4; done   # the cluster is thrown away: no long goodbyes
  if [ -f "$root/registry/pid" ]; then kill "$(cat "$root/registry/pid")" 2>/dev/null || true; rm -f "$root/registry/pid"; fi
  for n in "${nodes[@]}"; do ip netns del "hoist-$n" 2>/dev/null || true; done
  if command -v iptables >/dev/null; then
    while iptables -D FORWARD -i "$bridge" -o "$bridge" -j ACCEPT 2>/dev/null; do :; done
  fi
  ip link del "$bridge" 2>/dev/null || true
  grep " $root/" /proc/mounts 2>/dev/null | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$root"
}

status() {
  up n1 || { echo "cluster not running"; return 1; }
  dk n1 node ls
}

env_() {
  echo "export HOIST_CLUSTER_DIR=$root"
  echo "export HOIST_CLUSTER_MANAGERS='${managers[*]}'"
  echo "export HOIST_CLUSTER_WORKERS='${workers[*]}'"
  echo "export HOIST_CLUSTER_REGISTRY=$registry"
  echo "export HOIST_CLUSTER_REGISTRY_LOG=$root/registry/registry.log"
  echo "export HOIST_CLUSTER_USER=$hoist_user HOIST_CLUSTER_PASSWORD=$hoist_pass"
  echo "export HOIST_CLUSTER_DEPLOY_USER=$deploy_user HOIST_CLUSTER_DEPLOY_PASSWORD=$deploy_pass"
  echo "export HOIST_CLUSTER_SCRIPT=$(cd "$(dirname "$0")" && pwd)/cluster.sh"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  restart) restart "${2:-}" ;;
  down) down "${2:-}" ;;
  crash) crash "${2:-}" ;;
  up) up_ "${2:-}" ;;
  env) env_ ;;
  *) echo "usage: cluster.sh start|stop|status|env|restart nN|down nN|crash nN|up nN" >&2; exit 2 ;;
esac
