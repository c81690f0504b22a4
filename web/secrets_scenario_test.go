package web

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/store"
)

// Scenario 6's sentinels, one per place a spec can declare a secret. Each
// holds a quote, a backslash and non-ASCII (one beyond the BMP), so that
// every escaping changes it.
const (
	sntlTop   = `sntl-top"q\b-ü-1`
	sntlOneOf = `sntl-oneof\\"ça"-2`
	sntlRow   = `sntl-row"é\-3-😀`
	sntlRef   = `sntl-ref-ß\"-4`
	sntlDest  = `sntl-dest-ø"\\-5`
)

// TestSecretsScenario is scenario 6 on a real `ferry serve` on Docker: the
// scripted connector, with secrets at the top of its spec, inside a oneOf,
// in array rows and behind a $ref, echoes its whole config (raw, quoted
// once and twice, \u-escaped, URL-encoded, base64) in its stdout, stderr,
// a check's error trace and status, the discovered catalog, every state,
// and a sync's config_error trace. No sentinel may appear in any encoding
// in any API response, UI page, the attempt logs, Ferry's own log, the
// `docker inspect` of the connector containers, the database file, its
// WAL, or a migration backup of it. The inspected containers also show
// scenario 7's hardening (assertHardened).
func TestSecretsScenario(t *testing.T) {
	dc := runnertest.RequireDocker(t)
	image := runnertest.BuildImage(t, "connector-scripted", "./connectors/connector-scripted")
	s := startServe(t)
	f := &leakFinder{secrets: []string{sntlTop, sntlOneOf, sntlRow, sntlRef, sntlDest}}
	var leaks []string
	search := func(where string, text string) { leaks = append(leaks, f.find(where, text)...) }
	get := func(path, accept string) string { return s.raw(t, path, accept) }

	var srcDef, dstDef struct {
		DefinitionID string `json:"definitionId"`
	}
	s.api(t, "POST", "/definitions", map[string]any{"name": "scripted-src", "kind": "source", "image": image}, &srcDef)
	s.api(t, "POST", "/definitions", map[string]any{"name": "scripted-dst", "kind": "destination", "image": image}, &dstDef)
	secrets := map[string]any{"echo_config": true, "secret": sntlTop, "auth": map[string]any{"method": "api_key", "api_key": sntlOneOf},
		"hosts": []any{map[string]any{"host": "a.example", "password": sntlRow}}, "tunnel": map[string]any{"ssh_key": sntlRef}}
	srcCfg := with(secrets, "source", map[string]any{"records": 6, "state_every": 2, "sleep_after_record": 1, "sleep_ms": 1500})
	failCfg := with(secrets, "source", map[string]any{"records": 6, "config_error_after_record": 2, "error_message": "login refused"})
	failCfg["check_error"] = "wrong credentials"
	dstCfg := map[string]any{"echo_config": true, "secret": sntlDest}
	src := s.create(t, "/sources", map[string]any{"name": "leaky", "definitionId": srcDef.DefinitionID, "configuration": srcCfg}, "sourceId")
	bad := s.create(t, "/sources", map[string]any{"name": "leaky-failing", "definitionId": srcDef.DefinitionID, "configuration": failCfg}, "sourceId")
	dst := s.create(t, "/destinations", map[string]any{"name": "sink", "definitionId": dstDef.DefinitionID, "configuration": dstCfg}, "destinationId")

	// check (succeeded and failed), discover (Ferry's and Airbyte's routes).
	search("check", string(s.api(t, "POST", "/sources/"+src+"/check", nil, nil)))
	failed := string(s.api(t, "POST", "/sources/"+bad+"/check", nil, nil))
	if !strings.Contains(failed, "wrong credentials") {
		t.Errorf("the failing check should say why: %s", failed)
	}
	search("failed check", failed)
	search("destination check", string(s.api(t, "POST", "/destinations/"+dst+"/check", nil, nil)))
	streams := string(s.api(t, "GET", "/sources/"+src+"/streams?refresh=true", nil, nil))
	if !strings.Contains(streams, "discovered with") || !strings.Contains(streams, store.Mask) {
		t.Errorf("the discovered catalog should carry the masked echo: %s", streams)
	}
	search("streams", streams)
	search("streams (Airbyte)", string(s.api(t, "GET", "/streams?sourceId="+src+"&ignoreCache=true", nil, nil)))

	conn := s.create(t, "/connections", map[string]any{"name": "leaky → sink", "sourceId": src, "destinationId": dst}, "connectionId")
	failConn := s.create(t, "/connections", map[string]any{"name": "failing → sink", "sourceId": bad, "destinationId": dst}, "connectionId")
	job := s.trigger(t, conn)
	inspected := inspectWhileRunning(t, dc, image, func() bool { return s.jobDone(t, job) })
	if len(inspected) < 2 {
		t.Errorf("%d connector containers of %s seen running, want the source and the destination", len(inspected), image)
	}
	for i, raw := range inspected {
		search(fmt.Sprintf("docker inspect of container %d", i+1), raw)
		assertHardened(t, raw)
	}
	if st := s.waitJob(t, job); st != "succeeded" {
		t.Fatalf("the echoing sync: %s, want succeeded", st)
	}
	failJob := s.trigger(t, failConn)
	if st := s.waitJob(t, failJob); st != "failed" {
		t.Errorf("the sync whose source fails with a config_error: %s, want failed", st)
	}
	state := string(s.api(t, "GET", "/connections/"+conn+"/state", nil, nil))
	if !strings.Contains(state, "reading with") && !strings.Contains(state, "config ") {
		t.Errorf("the committed state should carry the masked echo: %s", state)
	}
	search("state", state)

	for _, p := range []string{
		"/api/v1/jobs", fmt.Sprintf("/api/v1/jobs/%d", job), fmt.Sprintf("/api/v1/jobs/%d", failJob),
		fmt.Sprintf("/api/v1/jobs/%d/attempts/1/logs", job), fmt.Sprintf("/api/v1/jobs/%d/attempts/1/logs?format=json", job),
		fmt.Sprintf("/api/v1/jobs/%d/attempts/1/logs", failJob), fmt.Sprintf("/api/v1/jobs/%d/attempts/1/logs?format=json", failJob),
		"/api/v1/sources", "/api/v1/sources/" + src, "/api/v1/sources/" + bad, "/api/v1/destinations/" + dst,
		"/api/v1/connections", "/api/v1/connections/" + conn, "/api/v1/connections/" + failConn,
		"/api/public/v1/sources/" + src, "/api/public/v1/streams?sourceId=" + src, "/api/public/v1/jobs",
		"/api/public/v1/connections/" + conn, "/metrics",
	} {
		search("GET "+p, get(p, "application/json"))
	}
	search("the attempt log over SSE", get(fmt.Sprintf("/api/v1/jobs/%d/attempts/1/logs", failJob), "text/event-stream"))
	for _, p := range []string{
		"/connections", "/connections/" + conn, "/connections/" + failConn, "/jobs", fmt.Sprintf("/jobs/%d", job),
		fmt.Sprintf("/jobs/%d", failJob), fmt.Sprintf("/jobs/%d/attempts/1/log", failJob), "/sources", "/sources/" + src,
		"/sources/" + src + "/edit", "/sources/" + bad, "/destinations/" + dst, "/destinations/" + dst + "/edit",
	} {
		search("page "+p, get(p, "text/html"))
	}
	logs := s.attemptLogs(t)
	if !strings.Contains(logs, "reading with") || !strings.Contains(logs, "login refused") {
		t.Errorf("the attempt logs lack the connector's echo; the test proved nothing\n%.2000s", logs)
	}
	search("the attempt log files", logs)
	search("ferry serve's output", s.stderr.String())
	search("the data dir", readDataDir(t, s.dir))
	search("a migration backup", migrationBackup(t, s.dir))
	for _, l := range leaks {
		t.Error(l)
	}
	t.Logf("searched %d texts (%d MB) for %d secrets in every encoding", f.texts, f.bytes>>20, len(f.secrets))
}

// with returns a copy of m with key set to v.
func with(m map[string]any, key string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, x := range m {
		out[k] = x
	}
	out[key] = v
	return out
}

// create POSTs body and returns the new object's id field.
func (s *served) create(t *testing.T, path string, body any, idField string) string {
	t.Helper()
	var out map[string]any
	s.api(t, "POST", path, body, &out)
	id, _ := out[idField].(string)
	if id == "" {
		t.Fatalf("POST %s: no %s in the answer", path, idField)
	}
	return id
}

// trigger starts a sync of conn and returns its job id.
func (s *served) trigger(t *testing.T, conn string) int64 {
	t.Helper()
	var job struct {
		JobID int64 `json:"jobId"`
	}
	s.api(t, "POST", "/jobs", map[string]any{"connectionId": conn, "jobType": "sync"}, &job)
	return job.JobID
}

// jobDone reports whether a job reached a final status.
func (s *served) jobDone(t *testing.T, id int64) bool {
	var j struct {
		Status string `json:"status"`
	}
	s.api(t, "GET", fmt.Sprintf("/jobs/%d", id), nil, &j)
	switch j.Status {
	case "succeeded", "failed", "cancelled", "incomplete":
		return true
	}
	return false
}

// raw GETs a path with the token and the Accept header, whatever the
// status (a page, a stream of events that ends with the job).
func (s *served) raw(t *testing.T, path, accept string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		t.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// inspectWhileRunning polls the engine for running containers of image
// that Ferry labelled, until done says the job is over, and returns the
// `docker inspect` JSON of each one seen.
func inspectWhileRunning(t *testing.T, dc *client.Client, image string, done func() bool) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	f := filters.NewArgs(filters.Arg("label", runner.LabelInstance), filters.Arg("ancestor", image))
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		cs, err := dc.ContainerList(context.Background(), container.ListOptions{Filters: f})
		if err != nil {
			t.Fatalf("list containers: %v", err)
		}
		for _, c := range cs {
			if seen[c.ID] {
				continue
			}
			if _, raw, err := dc.ContainerInspectWithRaw(context.Background(), c.ID, false); err == nil {
				seen[c.ID] = true
				out = append(out, string(raw))
			}
		}
		if done() {
			break
		}
	}
	return out
}

// readDataDir returns every file of the data dir but the key and the
// token (whose job is to hold secrets of Ferry's own): the database, its
// WAL and shared memory, the attempt logs.
func readDataDir(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == store.KeyFileName || d.Name() == "token" {
			return err
		}
		raw, err := os.ReadFile(p)
		names = append(names, d.Name())
		b.Write(raw)
		b.WriteByte('\n')
		return err
	})
	if err != nil {
		t.Fatalf("read the data dir: %v", err)
	}
	if !strings.Contains(strings.Join(names, " "), "-wal") {
		t.Errorf("no WAL file among %v: the running database should have one", names)
	}
	return b.String()
}

// migrationBackup copies the live database (with its WAL), marks its
// newest migration as not applied, and opens it with the store, which
// takes a backup before migrating, as an upgrade does; it returns the
// backup's bytes.
func migrationBackup(t *testing.T, dataDir string) string {
	t.Helper()
	dir := t.TempDir()
	for _, suffix := range []string{"", "-wal"} {
		raw, err := os.ReadFile(filepath.Join(dataDir, "ferry.db"+suffix))
		if err != nil {
			t.Fatalf("copy the database: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ferry.db"+suffix), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "ferry.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`); err != nil {
		t.Fatalf("unmark the newest migration: %v", err)
	}
	db.Close()
	// The newest migration may not apply twice; the backup is taken first.
	if st, err := store.Open(context.Background(), path); err == nil {
		st.Close()
	}
	baks, _ := filepath.Glob(path + ".bak-*")
	if len(baks) != 1 {
		t.Fatalf("backups: %v, want one", baks)
	}
	raw, err := os.ReadFile(baks[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
