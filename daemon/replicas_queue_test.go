package daemon

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/store"
)

// TestReplicasShareTheQueue: 30 connections triggered at once on three
// replicas. Every job runs exactly once, no connection ever has two
// running attempts (polled while they run), and each replica runs some.
func TestReplicasShareTheQueue(t *testing.T) {
	r := newReplicaSet(t)
	ctx := context.Background()
	conns := r.connections(30, scenario{Source: map[string]any{"records": 5, "state_every": 1}})
	// Four workers each: twelve syncs at a time keep the test short.
	r.env = []string{"FERRY_WORKERS=4"}
	for _, id := range []string{"replica-1", "replica-2", "replica-3"} {
		r.start(id)
	}
	jobs := make([]int64, len(conns))
	var wg sync.WaitGroup
	errs := make(chan error, len(conns))
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, err := r.db.CreateJob(ctx, c.ID, store.JobSync, store.TriggerAPI)
			if err != nil {
				errs <- err
				return
			}
			jobs[i] = j.ID
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("trigger: %v", err)
	}

	started := time.Now()
	maxRunning := 0
	r.eventually("all 30 jobs end", func() bool {
		done := 0
		for _, id := range jobs {
			j := r.job(id)
			running := 0
			for _, a := range j.Attempts {
				if a.Status == store.AttemptRunning {
					running++
				}
			}
			maxRunning = max(maxRunning, running)
			if j.Status.Terminal() {
				done++
			}
		}
		return done == len(jobs)
	})
	t.Logf("30 jobs ran in %v", time.Since(started).Round(time.Millisecond))
	r.stopAll()

	if maxRunning > 1 {
		t.Errorf("a connection had %d running attempts at once, want at most 1", maxRunning)
	}
	perReplica := map[string]int{}
	for _, id := range jobs {
		j := r.job(id)
		if j.Status != store.JobSucceeded || len(j.Attempts) != 1 {
			t.Errorf("job %d: %s after %d attempts, want succeeded after exactly 1", id, j.Status, len(j.Attempts))
			continue
		}
		a := j.Attempts[0]
		if a.Stats.RecordsEmitted != 5 {
			t.Errorf("job %d emitted %d records, want 5", id, a.Stats.RecordsEmitted)
		}
		perReplica[a.Owner.InstanceID]++
	}
	t.Logf("jobs per replica: %v", perReplica)
	for _, id := range []string{"replica-1", "replica-2", "replica-3"} {
		if perReplica[id] == 0 {
			t.Errorf("replica %s ran no job (per replica: %v)", id, perReplica)
		}
	}
	if len(perReplica) != 3 {
		t.Errorf("attempts ran on %v, want only the three replicas", perReplica)
	}
}
