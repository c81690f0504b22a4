package web

import (
	"bufio"
	"strconv"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// scrape returns the /metrics samples by name and labels as written, e.g.
// `ferry_jobs{status="pending"}`.
func (e *testEnv) scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	saved := e.url
	e.url = url
	defer func() { e.url = saved }()
	resp, b := e.request(t, "GET", "/metrics", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: got %d: %s", resp.StatusCode, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func checkSamples(t *testing.T, when string, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %s = %v, want %v", when, k, got[k], v)
		}
	}
}

// TestMetrics verifies the job gauges and queue depth follow the store,
// that a job is accounted once when it ends (attempts, records, bytes,
// duration), also when an older job is still running, and that jobs
// ended before the server started are not counted.
func TestMetrics(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	var other connectionJSON
	e.do(t, "POST", "/api/v1/connections", map[string]any{"sourceId": f.src, "destinationId": f.dst}, 201, &other)

	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn}, 201, nil)
	checkSamples(t, "pending", e.scrape(t, e.url), map[string]float64{
		`ferry_jobs{status="pending"}`: 1, `ferry_queue_depth`: 1, `ferry_jobs{status="running"}`: 0})

	c, _ := e.startAttempt(t)
	var j2 jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": other.ConnectionID}, 201, &j2)
	e.do(t, "DELETE", path("/api/v1/jobs/%d", j2.JobID), nil, 200, nil)
	for i := 0; i < 2; i++ { // the second scrape must not count the cancel again
		checkSamples(t, "a newer job ended while an older runs", e.scrape(t, e.url), map[string]float64{
			`ferry_jobs{status="running"}`: 1, `ferry_queue_depth`: 0,
			`ferry_jobs_finished_total{job_type="sync",status="cancelled"}`: 1})
	}

	e.finishAttempt(t, store.AttemptResult{AttemptID: c.Attempt.ID, Status: store.AttemptFailed, JobStatus: store.JobIncomplete,
		FailureReasons: []store.FailureReason{{FailureOrigin: protocol.OriginSource, Timestamp: 1}}})
	c, _ = e.startAttempt(t)
	e.finishAttempt(t, store.AttemptResult{AttemptID: c.Attempt.ID, Status: store.AttemptSucceeded, JobStatus: store.JobSucceeded,
		Stats: &store.Stats{RecordsCommitted: 12, BytesCommitted: 1200}})
	want := map[string]float64{
		`ferry_jobs{status="succeeded"}`: 1, `ferry_jobs{status="running"}`: 0,
		`ferry_jobs_finished_total{job_type="sync",status="succeeded"}`:         1,
		`ferry_jobs_finished_total{job_type="sync",status="cancelled"}`:         1,
		`ferry_attempts_total{status="failed"}`:                                 1,
		`ferry_attempts_total{status="succeeded"}`:                              1,
		`ferry_records_synced_total`:                                            12,
		`ferry_bytes_synced_total`:                                              1200,
		`ferry_sync_duration_seconds_count{job_type="sync",status="succeeded"}`: 1,
	}
	checkSamples(t, "after the job ended", e.scrape(t, e.url), want)
	checkSamples(t, "scraped again", e.scrape(t, e.url), want)

	// A new server on the same database counts from its start.
	srv, err := New(Config{Addr: "127.0.0.1:0", Token: testToken, Store: e.db, Jobs: e.jobs, Connectors: e.conns})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	checkSamples(t, "a restarted server", e.scrape(t, srv.URL()), map[string]float64{
		`ferry_jobs{status="succeeded"}`: 1, `ferry_records_synced_total`: 0,
		`ferry_jobs_finished_total{job_type="sync",status="succeeded"}`: 0})
}
