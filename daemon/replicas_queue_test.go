package daemon

import (
	"testing"
	"time"
)

// TestReplicasShareTheQueue: 30 connections triggered at once on three
// replicas. Every job runs exactly once, no connection ever has two
// running attempts (polled while they run), and each replica runs some.
func TestReplicasShareTheQueue(t *testing.T) {
	r := newReplicaSet(t)
	conns := r.connections(30, scenario{Source: map[string]any{"records": 5, "state_every": 1}})
	// Four workers each: twelve syncs at a time keep the test short.
	r.env = []string{"FERRY_WORKERS=4"}
	for _, id := range []string{"replica-1", "replica-2", "replica-3"} {
		r.start(id)
	}
	jobs := r.triggerAll(conns)
	started := time.Now()
	maxRunning := r.awaitJobs(jobs)
	t.Logf("30 jobs ran in %v", time.Since(started).Round(time.Millisecond))
	r.stopAll()
	if maxRunning > 1 {
		t.Errorf("a connection had %d running attempts at once, want at most 1", maxRunning)
	}
	perReplica := r.ranOnce(jobs, 5)
	for _, id := range []string{"replica-1", "replica-2", "replica-3"} {
		if perReplica[id] == 0 {
			t.Errorf("replica %s ran no job (per replica: %v)", id, perReplica)
		}
	}
	if len(perReplica) != 3 {
		t.Errorf("attempts ran on %v, want only the three replicas", perReplica)
	}
}
