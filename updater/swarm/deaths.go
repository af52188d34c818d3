package swarm

import (
	"strconv"
	"time"

	"github.com/moby/moby/api/types/swarm"
)

// death is a task's container dying, as the event stream told it: it reaches hoist
// before Swarm marks the task failed, which the manager does only once the node's agent
// reported it.
type death struct {
	task string
	exit int
	at   time.Time
}

// Deaths are kept per service for deathsKept, at most deathsMax of them.
const (
	deathsKept = 2 * time.Minute
	deathsMax  = 8
)

// died records a container death of the service id.
func (s *stream) died(id string, d death) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deaths == nil {
		s.deaths = map[string][]death{}
	}
	ds := append(recent(s.deaths[id], d.at), d)
	if len(ds) > deathsMax {
		ds = ds[len(ds)-deathsMax:]
	}
	s.deaths[id] = ds
	if len(s.deaths) > 1024 { // services that crashed long ago are forgotten
		for k, v := range s.deaths {
			if v = recent(v, d.at); len(v) == 0 {
				delete(s.deaths, k)
			}
		}
	}
}

// recent drops the deaths older than deathsKept before now.
func recent(ds []death, now time.Time) []death {
	i := 0
	for i < len(ds) && now.Sub(ds[i].at) > deathsKept {
		i++
	}
	return ds[i:]
}

// crashed finds a task of ts on image whose container died on its own after since,
// even while Swarm still shows it running: a task Swarm stops on purpose is given the
// desired state shutdown before its container is stopped, so a container that died
// while its task was still wanted running failed. The task comes back with the state
// and exit code Swarm will give it, for describe.
func (s *stream) crashed(id string, ts []swarm.Task, image string, since time.Time) (swarm.Task, bool) {
	s.mu.Lock()
	ds := append([]death(nil), s.deaths[id]...)
	s.mu.Unlock()
	for _, d := range ds {
		if !d.at.After(since) {
			continue
		}
		for _, t := range ts {
			if t.ID != d.task || taskImage(t) != image || t.DesiredState != swarm.TaskStateRunning {
				continue
			}
			t.Status.State, t.Status.Timestamp = swarm.TaskStateFailed, d.at
			if d.exit == 0 {
				t.Status.State = swarm.TaskStateComplete
			}
			cs := swarm.ContainerStatus{ExitCode: d.exit}
			if t.Status.ContainerStatus != nil {
				cs = *t.Status.ContainerStatus
				cs.ExitCode = d.exit
			}
			t.Status.ContainerStatus, t.Status.Err = &cs, ""
			return t, true
		}
	}
	return swarm.Task{}, false
}

// deathOf reads a container's die event attributes.
func deathOf(attrs map[string]string, at time.Time) (death, bool) {
	task := attrs["com.docker.swarm.task.id"]
	if task == "" {
		return death{}, false
	}
	code, _ := strconv.Atoi(attrs["exitCode"])
	return death{task: task, exit: code, at: at}, true
}
