package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// openReplica opens a second handle on f's database: another replica.
func (f *fixture) openReplica(t testing.TB, opts ...Option) *DB {
	t.Helper()
	opts = append([]Option{WithNow(f.clock.Now), WithKey(testKey(t))}, opts...)
	db, err := Open(context.Background(), f.db.Path(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestLeaseFencesLateWrites: a replica paused past its lease finds every
// write of its attempt refused, the renewal too; another replica sees the
// lease expired and fails the attempt, and the job's next attempt resumes
// from the state committed while the lease was live.
func TestLeaseFencesLateWrites(t *testing.T) {
	lease := newTestClock()
	f := newFixture(t, WithLeaseClock(lease.Now), WithLease(30*time.Second))
	other := f.openReplica(t, WithLeaseClock(lease.Now), WithLease(30*time.Second))
	ctx := context.Background()
	c := f.mustClaim(t)
	if c.Attempt.LeaseExpiresAt == nil || !c.Attempt.LeaseExpiresAt.Equal(lease.Now().Add(30*time.Second)) {
		t.Fatalf("lease expires at %v", c.Attempt.LeaseExpiresAt)
	}
	states := parseStates(t, readTestdata(t, "state_stream.json"))
	if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, states[:1], Stats{RecordsCommitted: 5}); err != nil {
		t.Fatal(err)
	}
	// Another replica may not write to, or end, an attempt it does not hold.
	wantErr(t, other.CommitCheckpoint(ctx, c.Attempt.ID, states, Stats{}), ErrLeaseLost)
	_, err := other.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptFailed, JobStatus: JobFailed})
	wantErr(t, err, ErrLeaseLost)

	// Heartbeats keep it: 25 s, renew, 25 s more is still within.
	lease.Advance(25 * time.Second)
	if lost, err := f.db.RenewLeases(ctx); err != nil || len(lost) != 0 {
		t.Fatalf("renew: lost %v, %v", lost, err)
	}
	lease.Advance(25 * time.Second)
	if exp, err := other.ExpiredLeases(ctx); err != nil || len(exp) != 0 {
		t.Fatalf("expired after a renewal: %v, %v", exp, err)
	}
	// Paused past the lease: nothing it writes lands.
	lease.Advance(6 * time.Second)
	wantErr(t, f.db.CommitCheckpoint(ctx, c.Attempt.ID, states, Stats{RecordsCommitted: 99}), ErrLeaseLost)
	wantErr(t, f.db.SetAttemptRun(ctx, c.Attempt.ID, AttemptRun{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL}), ErrLeaseLost)
	exp, err := other.ExpiredLeases(ctx)
	if err != nil || len(exp) != 1 || exp[0].ID != c.Attempt.ID || exp[0].Owner.InstanceID != testOwner.InstanceID {
		t.Fatalf("expired leases: %v, %v", exp, err)
	}
	if lost, err := f.db.RenewLeases(ctx); err != nil || len(lost) != 1 || lost[0] != c.Attempt.ID {
		t.Fatalf("renew past the lease: lost %v, %v", lost, err)
	}
	j, err := other.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptFailed, Takeover: true,
		FailureReasons: []FailureReason{{FailureOrigin: protocol.OriginPlatform, ExternalMessage: "lease expired on replica test-instance"}},
		JobStatus:      JobIncomplete})
	if err != nil || j.Status != JobIncomplete || j.RecordsSynced != 5 {
		t.Fatalf("take over: %+v, %v", j, err)
	}
	_, err = f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptSucceeded, JobStatus: JobSucceeded})
	wantErr(t, err, ErrConflict)
	c2, err := other.ClaimJob(ctx, Owner{InstanceID: "replica-b", PID: 2, BootID: "b"})
	if err != nil || c2 == nil || c2.Attempt.Number != 2 || len(c2.State) != 1 {
		t.Fatalf("resume elsewhere: %+v, %v", c2, err)
	}
	if got := mustJSON(t, c2.State[0]); got != mustJSON(t, states[0].Clean()) {
		t.Errorf("resumed from %s, want %s", got, mustJSON(t, states[0].Clean()))
	}
}

// TestClaimAcrossReplicas: three replicas claim 30 jobs at once; each job
// is claimed exactly once.
func TestClaimAcrossReplicas(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	replicas := []*DB{f.db, f.openReplica(t), f.openReplica(t)}
	const n = 30
	for i := 0; i < n; i++ {
		c := f.newConnection(t)
		if _, err := f.db.CreateJob(ctx, c.ID, JobSync, TriggerAPI); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[int64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, len(replicas))
	for i, db := range replicas {
		owner := Owner{InstanceID: fmt.Sprintf("replica-%d", i), PID: i, BootID: "b"}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := db.ClaimJob(ctx, owner)
				if err != nil {
					errs <- err
					return
				}
				if c == nil {
					return
				}
				mu.Lock()
				if prev, dup := claimed[c.Job.ID]; dup {
					errs <- fmt.Errorf("job %d claimed by %s and %s", c.Job.ID, prev, owner.InstanceID)
				}
				claimed[c.Job.ID] = owner.InstanceID
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(claimed) != n {
		t.Errorf("%d jobs claimed, want %d", len(claimed), n)
	}
}

// TestLeadershipAndReplicas: one holder at a time, taken over on expiry;
// replicas register, refuse a live duplicate id, and list their attempts.
func TestLeadershipAndReplicas(t *testing.T) {
	lease := newTestClock()
	f := newFixture(t, WithLeaseClock(lease.Now))
	ctx := context.Background()
	for _, step := range []struct {
		holder string
		want   bool
	}{{"a", true}, {"b", false}, {"a", true}} {
		if got, err := f.db.AcquireLeadership(ctx, "scheduler", step.holder, 10*time.Second); err != nil || got != step.want {
			t.Fatalf("%s: leader = %v, %v; want %v", step.holder, got, err, step.want)
		}
	}
	lease.Advance(11 * time.Second)
	if got, _ := f.db.AcquireLeadership(ctx, "scheduler", "b", 10*time.Second); !got {
		t.Error("b did not take over an expired leadership")
	}
	if err := f.db.ReleaseLeadership(ctx, "scheduler", "b"); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.db.AcquireLeadership(ctx, "scheduler", "a", 10*time.Second); !got {
		t.Error("a did not take a released leadership")
	}

	r := Replica{ID: testOwner.InstanceID, Hostname: "h1", PID: 1, BootID: testOwner.BootID}
	if err := f.db.RegisterReplica(ctx, r); err != nil {
		t.Fatal(err)
	}
	dup := r
	dup.BootID, dup.PID, dup.Hostname = "other-boot", 2, "h2"
	wantErr(t, f.db.RegisterReplica(ctx, dup), ErrConflict)
	c := f.mustClaim(t)
	reps, err := f.db.Replicas(ctx)
	if err != nil || len(reps) != 1 || reps[0].ID != r.ID || len(reps[0].RunningAttempts) != 1 || reps[0].RunningAttempts[0] != c.Attempt.ID {
		t.Fatalf("replicas: %+v, %v", reps, err)
	}
	lease.Advance(DefaultLease + time.Second)
	if reps, _ := f.db.Replicas(ctx); len(reps) != 0 {
		t.Errorf("a silent replica is still listed: %+v", reps[0])
	}
	if err := f.db.RegisterReplica(ctx, dup); err != nil {
		t.Errorf("register over a dead replica: %v", err)
	}
	if err := f.db.StopReplica(ctx, dup.ID, dup.BootID); err != nil {
		t.Fatal(err)
	}
}

// TestKeyFingerprint: the first key is recorded; another key is refused
// with both fingerprints named.
func TestKeyFingerprint(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.db.CheckKey(ctx); err != nil {
		t.Fatal(err)
	}
	k2, _ := NewKey([]byte("ffffffffffffffffffffffffffffffff"))
	other := f.openReplica(t, WithKey(k2))
	err := other.CheckKey(ctx)
	if !errors.Is(err, ErrKeyMismatch) || k2.Fingerprint() == testKey(t).Fingerprint() {
		t.Fatalf("another key: %v", err)
	}
	for _, want := range []string{k2.Fingerprint(), testKey(t).Fingerprint(), "FERRY_SECRET_KEY_FILE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// BenchmarkClaim3Replicas measures jobs claimed (and finished) per second
// by three replicas on one database, each claiming in its own goroutine.
func BenchmarkClaim3Replicas(b *testing.B) {
	b.StopTimer()
	f := newFixture(b)
	ctx := context.Background()
	conns := make([]*Connection, b.N)
	for i := range conns {
		conns[i] = f.newConnection(b)
		if _, err := f.db.CreateJob(ctx, conns[i].ID, JobSync, TriggerAPI); err != nil {
			b.Fatal(err)
		}
	}
	replicas := []*DB{f.db, f.openReplica(b), f.openReplica(b)}
	var wg sync.WaitGroup
	var claimed sync.Map
	b.StartTimer()
	start := time.Now()
	for i, db := range replicas {
		owner := Owner{InstanceID: fmt.Sprintf("replica-%d", i), PID: i, BootID: "b"}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := db.ClaimJob(ctx, owner)
				if err != nil {
					b.Error(err)
					return
				}
				if c == nil {
					return
				}
				claimed.Store(c.Job.ID, true)
				if _, err := db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptSucceeded,
					JobStatus: JobSucceeded}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}
