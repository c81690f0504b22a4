package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/store"
)

// imageDefinition registers the test-tagged image of a reference
// connector (runnertest.BuildImage) as a definition, with its spec.
func imageDefinition(t *testing.T, d *Daemon, kind store.ActorKind, binary string) *store.Definition {
	t.Helper()
	ctx := context.Background()
	def := &store.Definition{Name: binary + "-" + string(kind), Kind: kind,
		Image: runnertest.BuildImage(t, binary, "./connectors/"+binary)}
	res, err := d.Connectors().Spec(ctx, def)
	if err != nil {
		t.Fatalf("spec of %s: %v", def.Image, err)
	}
	def.Spec, def.SpecImageID, def.IPCOptions = res.Spec, res.ImageID, res.IPCOptions
	if err := d.db.CreateDefinition(ctx, def); err != nil {
		t.Fatal(err)
	}
	return def
}

// imageConnection creates a manual connection between two definitions with
// the given configs and the source's default configured catalog.
func imageConnection(t *testing.T, d *Daemon, srcDef *store.Definition, srcCfg string, dstDef *store.Definition, dstCfg string) *store.Connection {
	t.Helper()
	ctx := context.Background()
	src := &store.Actor{Kind: store.KindSource, Name: "source", DefinitionID: srcDef.ID, Config: json.RawMessage(srcCfg)}
	dst := &store.Actor{Kind: store.KindDestination, Name: "destination", DefinitionID: dstDef.ID, Config: json.RawMessage(dstCfg)}
	for _, a := range []*store.Actor{src, dst} {
		if err := d.db.CreateActor(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	catalog, err := d.Connectors().Discover(ctx, srcDef, json.RawMessage(srcCfg))
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	conn := &store.Connection{SourceID: src.ID, DestinationID: dst.ID, Catalog: DefaultConfiguredCatalog(catalog)}
	if err := d.db.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	return conn
}

// jsonlLines counts the lines of destination-jsonl's file of a stream under
// <local root>/out, and returns the generation ids they carry; -1 lines
// when the file is absent.
func jsonlLines(t *testing.T, d *Daemon, stream string) (int, map[int64]int) {
	t.Helper()
	f, err := os.Open(filepath.Join(d.cfg.LocalRoot(), "out", stream+".jsonl"))
	if os.IsNotExist(err) {
		return -1, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, gens := 0, map[int64]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var line struct {
			Gen int64 `json:"_airbyte_generation_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("%s line %d: %v", stream, n+1, err)
		}
		n++
		gens[line.Gen]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n, gens
}

// wantSucceeded fails the test unless the job succeeded.
func wantSucceeded(t *testing.T, what string, j *store.Job) {
	t.Helper()
	if j.Status != store.JobSucceeded {
		var reasons []string
		for _, a := range j.Attempts {
			reasons = append(reasons, summary(a.FailureReasons))
		}
		t.Fatalf("%s: %s (%q), want succeeded", what, j.Status, reasons)
	}
}

// TestDockerClearEmptiesJSONL is a clear on Docker with the reference
// connectors, faker → JSONL (incremental append): after a sync, the clear
// empties every stream's file and the state, and the next sync reads
// everything from scratch, so the files hold one copy again.
func TestDockerClearEmptiesJSONL(t *testing.T) {
	runnertest.RequireDocker(t)
	d := openDaemon(t, dockerConfig(t), Options{})
	sweepAtCleanup(t, d)
	conn := imageConnection(t, d,
		imageDefinition(t, d, store.KindSource, "source-faker"), `{"count":30,"seed":7}`,
		imageDefinition(t, d, store.KindDestination, "destination-jsonl"), `{"destination_path":"/local/out"}`)
	serve(t, d)
	wantSucceeded(t, "first sync", runJob(t, d, conn.ID, store.JobSync))
	streams := []string{"users", "products", "purchases"}
	first := map[string]int{}
	for _, s := range streams {
		if first[s], _ = jsonlLines(t, d, s); first[s] <= 0 {
			t.Fatalf("%s: %d lines after the sync, want some", s, first[s])
		}
	}

	j := runJob(t, d, conn.ID, store.JobClear)
	wantSucceeded(t, "clear", j)
	for _, s := range streams {
		if n, _ := jsonlLines(t, d, s); n > 0 {
			t.Errorf("%s: %d lines after the clear, want none", s, n)
		}
	}
	if states, err := d.db.State(context.Background(), conn.ID); err != nil || len(states) != 0 {
		t.Errorf("state after the clear: %d states (%v), want none", len(states), err)
	}

	wantSucceeded(t, "sync after the clear", runJob(t, d, conn.ID, store.JobSync))
	for _, s := range streams {
		if n, _ := jsonlLines(t, d, s); n != first[s] {
			t.Errorf("%s: %d lines after the next sync, want %d: read from scratch, once", s, n, first[s])
		}
	}
}

// TestDockerRefreshReplacesJSONL is a refresh on Docker, scripted source →
// JSONL (incremental append): a refresh whose source fails after some
// acknowledged states keeps the old file and the old state; one that
// succeeds replaces both, the file then holding the new generation only.
func TestDockerRefreshReplacesJSONL(t *testing.T) {
	runnertest.RequireDocker(t)
	cfg := dockerConfig(t)
	cfg.Retry.MaxSuccessiveNoProgress, cfg.Retry.MaxTotalNoProgress, cfg.Retry.MaxTotalWithProgress = 1, 1, 1
	d := openDaemon(t, cfg, Options{})
	sweepAtCleanup(t, d)
	conn := imageConnection(t, d,
		imageDefinition(t, d, store.KindSource, "connector-scripted"), `{"source":{"records":10,"state_every":2}}`,
		imageDefinition(t, d, store.KindDestination, "destination-jsonl"), `{"destination_path":"/local/out"}`)
	serve(t, d)
	wantSucceeded(t, "sync", runJob(t, d, conn.ID, store.JobSync))
	if n, _ := jsonlLines(t, d, "items"); n != 10 {
		t.Fatalf("items: %d lines after the sync, want 10", n)
	}

	failing := scenario{Source: map[string]any{"records": 6, "state_every": 2, "exit_after_record": 5, "exit_code": 1}}
	setSourceConfig(t, d, conn, failing)
	if j := runJob(t, d, conn.ID, store.JobRefresh); j.Status != store.JobFailed {
		t.Fatalf("refresh with a failing source: %s, want failed", j.Status)
	}
	if n, gens := jsonlLines(t, d, "items"); n != 10 || gens[0] != 10 {
		t.Errorf("items after the failed refresh: %d lines, generations %v; want the sync's 10 of generation 0", n, gens)
	}
	if got := cursors(t, d, conn.ID)["items"]; got != `{"cursor":10}` {
		t.Errorf("state after the failed refresh %s, want the sync's cursor 10", got)
	}

	setSourceConfig(t, d, conn, scenario{Source: map[string]any{"records": 6, "state_every": 2}})
	wantSucceeded(t, "refresh", runJob(t, d, conn.ID, store.JobRefresh))
	if n, gens := jsonlLines(t, d, "items"); n != 6 || gens[2] != 6 {
		t.Errorf("items after the refresh: %d lines, generations %v; want 6 of generation 2", n, gens)
	}
	if got := cursors(t, d, conn.ID)["items"]; got != `{"cursor":6}` {
		t.Errorf("state after the refresh %s, want the refresh's cursor 6", got)
	}
}

// TestDockerCancelClear cancels a clear on Docker while its destination
// container hangs after the end of its input: the job ends cancelled and
// no container or volume is left.
func TestDockerCancelClear(t *testing.T) {
	c := runnertest.RequireDocker(t)
	d := openDaemon(t, dockerConfig(t), Options{})
	sweepAtCleanup(t, d)
	conn := imageConnection(t, d,
		imageDefinition(t, d, store.KindSource, "connector-scripted"), `{}`,
		imageDefinition(t, d, store.KindDestination, "connector-scripted"), `{"destination":{"hang_after_eof":true}}`)
	serve(t, d)
	j, err := d.Trigger(context.Background(), conn.ID, store.JobClear)
	if err != nil {
		t.Fatal(err)
	}
	waitLogLine(t, d, j.ID, "input ended; hanging")
	if _, err := d.Cancel(context.Background(), j.ID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	j = waitJob(t, d, j.ID)
	if j.Status != store.JobCancelled || j.AttemptCount != 1 || j.Attempts[0].Status != store.AttemptCancelled {
		t.Fatalf("job %s with %d attempts, want cancelled with one cancelled attempt", j.Status, j.AttemptCount)
	}
	if cs, vs := leftovers(t, c, d.InstanceID()); cs != 0 || vs != 0 {
		t.Errorf("left %d containers and %d volumes, want none", cs, vs)
	}
}
