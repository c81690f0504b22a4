package daemon

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/store"
	"github.com/ferrysync/ferry/store/pgtest"
)

// These tests run three real `ferry serve` processes on one PostgreSQL
// database (pgtest) and one Docker engine, with a short lease so that
// failover takes seconds. They wait on the database, never on sleeps.

const (
	testLease     = 3 * time.Second
	testHeartbeat = time.Second
)

// replicaSet is a shared database, its secrets key, and the replicas.
type replicaSet struct {
	t       *testing.T
	bin     string
	url     string
	keyFile string
	db      *store.DB // the test's own handle, for setup and polling
	setup   *Daemon   // an in-process daemon used only to create connections
	dirs    map[string]string
	procs   map[string]*exec.Cmd
	outs    map[string]*lockedBuffer
	env     []string // more FERRY_* settings for the replicas
	runtime string   // the replicas' --runtime; empty is docker
}

func newReplicaSet(t *testing.T) *replicaSet {
	t.Helper()
	runnertest.RequireDocker(t)
	runnertest.BuildImage(t, "connector-scripted", scriptedPkg)
	url := pgtest.SchemaURL(t)
	r := &replicaSet{t: t, bin: runnertest.BuildBinary(t, "ferry", "./cmd/ferry"), url: url,
		dirs: map[string]string{}, procs: map[string]*exec.Cmd{}, outs: map[string]*lockedBuffer{}}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	r.keyFile = filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(r.keyFile, []byte(base64.StdEncoding.EncodeToString(raw)), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := store.LoadKeyFile(r.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := dockerConfig(t)
	cfg.Store.DatabaseURL, cfg.Store.SecretKeyFile, cfg.Replica.ID = url, r.keyFile, "replica-setup"
	r.setup = openDaemon(t, cfg, Options{})
	r.db, err = store.Open(context.Background(), url, store.WithKey(key), store.WithLease(testLease))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.db.Close() })
	return r
}

// connections creates n connections between connector-scripted actors,
// each source with the scenario src; discovery runs once.
func (r *replicaSet) connections(n int, src scenario) []*store.Connection {
	r.t.Helper()
	ctx := context.Background()
	first := scriptedConnection(r.t, r.setup, src, scenario{})
	proto, err := r.db.Actor(ctx, store.KindSource, first.SourceID)
	if err != nil {
		r.t.Fatal(err)
	}
	out := []*store.Connection{first}
	for i := 1; i < n; i++ {
		a := &store.Actor{Kind: store.KindSource, Name: fmt.Sprintf("scripted source %d", i), DefinitionID: proto.DefinitionID, Config: src.json(r.t)}
		if err := r.db.CreateActor(ctx, a); err != nil {
			r.t.Fatal(err)
		}
		c := &store.Connection{SourceID: a.ID, DestinationID: first.DestinationID, Catalog: first.Catalog}
		if err := r.db.CreateConnection(ctx, c); err != nil {
			r.t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// start runs `ferry serve` as replica id (its own data dir, kept across
// restarts) and waits until it is live.
func (r *replicaSet) start(id string) {
	r.t.Helper()
	if r.dirs[id] == "" {
		r.dirs[id] = r.t.TempDir()
		r.outs[id] = &lockedBuffer{}
	}
	rt := r.runtime
	if rt == "" {
		rt = RuntimeDocker
	}
	cmd := exec.Command(r.bin, "serve", "--data-dir", r.dirs[id], "--runtime", rt, "--no-demo",
		"--shutdown-grace", "5s", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "FERRY_DATABASE_URL="+r.url, "FERRY_SECRET_KEY_FILE="+r.keyFile,
		"FERRY_REPLICA_ID="+id, "FERRY_LEASE="+testLease.String(), "FERRY_HEARTBEAT="+testHeartbeat.String(),
		"FERRY_SCHEDULER_TICK=200ms", "FERRY_RETRY_BACKOFF_BASE=100ms", "FERRY_RETRY_BACKOFF_MAX=200ms",
		"FERRY_RETRY_MIN_BACKOFF=100ms",
		"FERRY_LOG_LEVEL=debug")
	cmd.Env = append(cmd.Env, r.env...)
	cmd.Stdout, cmd.Stderr = r.outs[id], r.outs[id]
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start replica %s: %v", id, err)
	}
	r.procs[id] = cmd
	r.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGCONT)
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	r.eventually("replica "+id+" live", func() bool {
		rs, err := r.db.Replicas(context.Background())
		for _, rep := range rs {
			if rep.ID == id {
				return err == nil
			}
		}
		return false
	})
}

// stopAll ends every replica with SIGTERM (a graceful stop).
func (r *replicaSet) stopAll() {
	for id, cmd := range r.procs {
		if cmd.ProcessState != nil {
			continue
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			r.t.Errorf("replica %s after SIGTERM: %v", id, err)
		}
	}
}

// logs is every replica's output, for failure messages.
func (r *replicaSet) logs() string {
	var b strings.Builder
	for id, out := range r.outs {
		fmt.Fprintf(&b, "--- replica %s ---\n%s\n", id, out)
	}
	return b.String()
}

// eventually polls cond every 20ms until it holds, for up to two minutes.
func (r *replicaSet) eventually(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: gave up waiting\n%s", what, r.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// job reads a job with its attempts.
func (r *replicaSet) job(id int64) *store.Job {
	r.t.Helper()
	j, err := r.db.Job(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return j
}

// received unions the ids the scripted destination wrote on every replica.
func (r *replicaSet) received() []int64 {
	r.t.Helper()
	var ids []int64
	for _, dir := range r.dirs {
		cfg := Config{DataDir: dir}
		if _, err := os.Stat(filepath.Join(cfg.LocalRoot(), "received.jsonl")); err != nil {
			continue
		}
		ids = append(ids, receivedIDs(r.t, &Daemon{cfg: cfg})["items"]...)
	}
	return ids
}

// triggerAll creates a sync job for every connection at once and returns
// their ids, in the order of conns.
func (r *replicaSet) triggerAll(conns []*store.Connection) []int64 {
	r.t.Helper()
	jobs := make([]int64, len(conns))
	errs := make(chan error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, err := r.db.CreateJob(context.Background(), c.ID, store.JobSync, store.TriggerAPI)
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
		r.t.Fatalf("trigger: %v", err)
	}
	return jobs
}

// awaitJobs waits until every job has ended, polling how many attempts
// each has running at once, and returns the most seen.
func (r *replicaSet) awaitJobs(jobs []int64) (maxRunning int) {
	r.t.Helper()
	r.eventually(fmt.Sprintf("all %d jobs end", len(jobs)), func() bool {
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
	return maxRunning
}

// ranOnce checks that each job succeeded after exactly one attempt that
// emitted and committed records records, and returns how many ran on
// each replica.
func (r *replicaSet) ranOnce(jobs []int64, records int64) map[string]int {
	r.t.Helper()
	perReplica := map[string]int{}
	for _, id := range jobs {
		j := r.job(id)
		if j.Status != store.JobSucceeded || len(j.Attempts) != 1 {
			r.t.Errorf("job %d: %s after %d attempts, want succeeded after exactly 1", id, j.Status, len(j.Attempts))
			continue
		}
		a := j.Attempts[0]
		if a.Stats.RecordsEmitted != records || a.Stats.RecordsCommitted != records {
			r.t.Errorf("job %d: %d records emitted, %d committed; want %d and %d", id, a.Stats.RecordsEmitted, a.Stats.RecordsCommitted, records, records)
		}
		perReplica[a.Owner.InstanceID]++
	}
	r.t.Logf("jobs per replica: %v", perReplica)
	return perReplica
}
