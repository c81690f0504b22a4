package daemon

import (
	"context"
	"regexp"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/ferrysync/ferry/store"
)

// leaderRE finds a replica's log line saying it took the scheduler.
var leaderRE = regexp.MustCompile(`msg="scheduler leadership".*leading=true`)

// TestReplicasOneJobPerCronTick: a cron schedule firing every 2 seconds,
// three replicas, and a leadership handover (the leader stops) midway:
// each tick creates one job, never one per replica.
func TestReplicasOneJobPerCronTick(t *testing.T) {
	r := newReplicaSet(t)
	ctx := context.Background()
	conn := r.connections(1, scenario{Source: map[string]any{"records": 1}})[0]
	conn.Schedule = store.Schedule{Type: store.ScheduleCron, Cron: "0/2 * * * * ?", Timezone: "UTC"}
	if err := r.db.UpdateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	ids := []string{"replica-1", "replica-2", "replica-3"}
	for _, id := range ids {
		r.start(id)
	}
	jobs := func() []*store.Job {
		js, _, err := r.db.Jobs(ctx, store.JobFilter{ConnectionID: conn.ID, Page: store.Page{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	r.eventually("two scheduled jobs", func() bool { return len(jobs()) >= 2 })
	leader := ""
	for _, id := range ids {
		if leaderRE.MatchString(r.outs[id].String()) {
			leader = id
		}
	}
	if leader == "" {
		t.Fatalf("no replica logged taking the scheduler\n%s", r.logs())
	}
	// A graceful stop hands the scheduler to another replica.
	_ = r.procs[leader].Process.Signal(syscall.SIGTERM)
	_ = r.procs[leader].Wait()
	before := len(jobs())
	r.eventually("three more scheduled jobs after the handover", func() bool { return len(jobs()) >= before+3 })
	r.stopAll()

	js := jobs()
	sort.Slice(js, func(i, k int) bool { return js[i].CreatedAt.Before(js[k].CreatedAt) })
	for i, j := range js {
		if j.Trigger != store.TriggerSchedule {
			t.Errorf("job %d was triggered by %s", j.ID, j.Trigger)
		}
		// Ticks are 2 s apart; two jobs of one tick would be created
		// within one scheduler pass of each other.
		if i > 0 && j.CreatedAt.Sub(js[i-1].CreatedAt) < time.Second {
			t.Errorf("jobs %d and %d created %v apart: one tick fired twice", js[i-1].ID, j.ID, j.CreatedAt.Sub(js[i-1].CreatedAt))
		}
	}
	t.Logf("%d scheduled jobs; the first leader %s stopped after %d", len(js), leader, before)
}
