package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
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
	r.onKubernetes(kubeconfig, def.Image, "FERRY_WORKERS=3")
	for _, id := range []string{"replica-k1", "replica-k2"} {
		r.start(id)
	}
	jobs := r.triggerAll(conns)
	maxRunning := r.awaitJobs(jobs)
	r.stopAll()
	if maxRunning > 1 {
		t.Errorf("a connection had %d running attempts at once, want at most 1", maxRunning)
	}
	r.ranOnce(jobs, 5)
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

// onKubernetes makes the set's replicas run on the test cluster, with
// every reference definition registered up front (through Docker), so the
// replicas' first start finds them instead of running each one's spec as
// a pod, and the connector image and relay in the cluster.
func (r *replicaSet) onKubernetes(kubeconfig, image string, env ...string) {
	r.t.Helper()
	ctx := context.Background()
	for _, rc := range ReferenceConnectors {
		if _, err := r.setup.registerReference(ctx, rc); err != nil {
			r.t.Fatal(err)
		}
	}
	relay := runnertest.BuildImage(r.t, "relay", runnertest.RelayPkg)
	kubetest.Import(r.t, image, relay)
	r.runtime = RuntimeKubernetes
	r.env = append([]string{"FERRY_KUBECONFIG=" + kubeconfig, "FERRY_KUBE_NAMESPACE=" + kubetest.Namespace(),
		"FERRY_KUBE_PULL_POLICY=Never", "FERRY_RELAY_IMAGE=" + relay}, env...)
}

// TestKubernetesDeletedPodRetryResumes: a pod deleted mid-sync (as
// `kubectl delete pod` does) fails its attempt with a reason naming the
// deletion, and the retry's source starts from the state committed
// before it, not from the beginning; every record arrives.
func TestKubernetesDeletedPodRetryResumes(t *testing.T) {
	kubeconfig := kubetest.Require(t)
	r := newReplicaSet(t)
	ctx := context.Background()
	const records = 200
	conns := r.connections(1, scenario{Source: map[string]any{"records": records, "state_every": 2, "pace_ms": 20,
		"log_input_state": true}})
	def, err := r.db.Definition(ctx, mustActor(t, r.db, conns[0].SourceID).DefinitionID)
	if err != nil {
		t.Fatal(err)
	}
	r.onKubernetes(kubeconfig, def.Image)
	r.start("replica-kd")
	j, err := r.db.CreateJob(ctx, conns[0].ID, store.JobSync, store.TriggerAPI)
	if err != nil {
		t.Fatal(err)
	}
	var before int
	r.eventually("attempt 1 commits a state", func() bool {
		before = cursorOf(t, committedCursor(t, r.db, conns[0].ID))
		return before > 0 && runningAttempt(t, r.db, j.ID) == 1
	})
	if n := kubetest.DeletePods(t, kubeconfig, kubetest.Namespace(), fmt.Sprintf("io.ferry.job=%d", j.ID)); n != 1 {
		t.Fatalf("deleted %d pods of job %d, want 1", n, j.ID)
	}
	r.eventually("the job ends", func() bool { return r.job(j.ID).Status.Terminal() })
	r.stopAll()
	got := r.job(j.ID)
	if got.Status != store.JobSucceeded || len(got.Attempts) != 2 {
		t.Fatalf("job: %s after %d attempts, want succeeded after 2\n%s", got.Status, len(got.Attempts), r.logs())
	}
	var reasons []string
	for _, f := range got.Attempts[0].FailureReasons {
		reasons = append(reasons, f.ExternalMessage)
	}
	if !strings.Contains(strings.Join(reasons, "\n"), "was lost: it was deleted") {
		t.Errorf("attempt 1's reasons %q: none names the pod's deletion", reasons)
	}
	input := inputState(t, Config{DataDir: r.dirs["replica-kd"]}, j.ID, 2)
	if resumed := cursorOf(t, input); resumed < before {
		t.Errorf("attempt 2 started from %q, want the committed cursor %d or later", input, before)
	}
	ids := r.received()
	seen := map[int64]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	for id := int64(1); id <= records; id++ {
		if !seen[id] {
			t.Fatalf("record %d never arrived (%d records received)", id, len(ids))
		}
	}
}

// cursorOf reads the cursor of a stream state such as {"cursor":12}; 0
// for none.
func cursorOf(t *testing.T, state string) int {
	t.Helper()
	if state == "" || state == "none" {
		return 0
	}
	var v struct{ Cursor int }
	if err := json.Unmarshal([]byte(state), &v); err != nil {
		t.Fatalf("state %q: %v", state, err)
	}
	return v.Cursor
}
