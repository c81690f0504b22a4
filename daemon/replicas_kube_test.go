package daemon

import (
	"context"
	"sync"
	"testing"

	"github.com/ferrysync/ferry/runner/kube/kubetest"
	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/store"
)

// TestReplicasOnKubernetes: two replicas on one PostgreSQL database, both
// on the Kubernetes runtime, 10 connections triggered at once: each job
// runs exactly once, as one pod, on one of the replicas, and no
// connection ever has two running attempts.
func TestReplicasOnKubernetes(t *testing.T) {
	kubeconfig := kubetest.Require(t)
	r := newReplicaSet(t)
	ctx := context.Background()
	conns := r.connections(10, scenario{Source: map[string]any{"records": 5, "state_every": 1}})
	def, err := r.db.Definition(ctx, mustActor(t, r.db, conns[0].SourceID).DefinitionID)
	if err != nil {
		t.Fatal(err)
	}
	// Every reference definition registered up front (through Docker):
	// the replicas' first start then finds them instead of running each
	// one's spec as a pod.
	for _, rc := range ReferenceConnectors {
		if _, err := r.setup.registerReference(ctx, rc); err != nil {
			t.Fatal(err)
		}
	}
	relay := runnertest.BuildImage(t, "relay", runnertest.RelayPkg)
	kubetest.Import(t, def.Image, relay)
	r.runtime = RuntimeKubernetes
	r.env = []string{"FERRY_WORKERS=3", "FERRY_KUBECONFIG=" + kubeconfig, "FERRY_KUBE_NAMESPACE=" + kubetest.Namespace(),
		"FERRY_KUBE_PULL_POLICY=Never", "FERRY_RELAY_IMAGE=" + relay}
	for _, id := range []string{"replica-k1", "replica-k2"} {
		r.start(id)
	}
	jobs := make([]int64, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, err := r.db.CreateJob(ctx, c.ID, store.JobSync, store.TriggerAPI)
			if err != nil {
				t.Errorf("trigger: %v", err)
				return
			}
			jobs[i] = j.ID
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	maxRunning := 0
	r.eventually("all 10 jobs end", func() bool {
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
	r.stopAll()
	if maxRunning > 1 {
		t.Errorf("a connection had %d running attempts at once, want at most 1", maxRunning)
	}
	perReplica := map[string]int{}
	for _, id := range jobs {
		j := r.job(id)
		if j.Status != store.JobSucceeded || len(j.Attempts) != 1 {
			t.Errorf("job %d: %s after %d attempts, want succeeded after exactly 1 (replica logs below)", id, j.Status, len(j.Attempts))
			continue
		}
		a := j.Attempts[0]
		if a.Stats.RecordsEmitted != 5 || a.Stats.RecordsCommitted != 5 {
			t.Errorf("job %d: %d records emitted, %d committed; want 5 and 5", id, a.Stats.RecordsEmitted, a.Stats.RecordsCommitted)
		}
		perReplica[a.Owner.InstanceID]++
	}
	t.Logf("jobs per replica: %v", perReplica)
	if t.Failed() {
		for id, out := range r.outs {
			t.Logf("replica %s:\n%s", id, out.String())
		}
	}
}

func mustActor(t *testing.T, db *store.DB, id string) *store.Actor {
	t.Helper()
	a, err := db.Actor(context.Background(), store.KindSource, id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
