package web

import (
	"context"
	"encoding/json"
	"math"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// startAttempt claims the connection's pending job, as a daemon worker
// would, and gives its attempt a log file.
func (e *testEnv) startAttempt(t *testing.T) (*store.Claim, string) {
	t.Helper()
	ctx := context.Background()
	c, err := e.db.ClaimJob(ctx, store.Owner{InstanceID: "test", PID: 1, BootID: "b"})
	if err != nil || c == nil {
		t.Fatalf("claim: got %v, %v; want a claim", c, err)
	}
	logPath := store.LogPath(e.dir, c.Job.ID, c.Attempt.Number)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetAttemptRun(ctx, c.Attempt.ID, store.AttemptRun{Mode: protocol.ModeStdio,
		Format: protocol.FormatJSONL, LogPath: logPath}); err != nil {
		t.Fatal(err)
	}
	return c, logPath
}

func (e *testEnv) finishAttempt(t *testing.T, r store.AttemptResult) *store.Job {
	t.Helper()
	j, err := e.db.FinishAttempt(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestTriggerAndCancel verifies POST /jobs creates a pending job, a second
// one for the same connection is a 409, DELETE cancels, and a second
// cancel is a 409.
func TestTriggerAndCancel(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	var j jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn, "jobType": "sync"}, 201, &j)
	if j.Status != "pending" || j.JobType != "sync" || j.ConnectionID != f.conn || j.Trigger != "api" || j.JobID == 0 {
		t.Fatalf("got %+v, want a pending api sync of the connection", j)
	}
	ae := e.fail(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn, "jobType": "reset"}, 409)
	if !strings.Contains(ae.Message, "active job") {
		t.Errorf("got message %q, want it to say there is an active job", ae.Message)
	}
	var c jobJSON
	e.do(t, "DELETE", path("/api/v1/jobs/%d", j.JobID), nil, 200, &c)
	if c.Status != "cancelled" || c.EndedAt == nil || c.Duration == "" {
		t.Errorf("got %+v, want cancelled with an end and a duration", c)
	}
	e.fail(t, "DELETE", path("/api/v1/jobs/%d", j.JobID), nil, 409)
	// Airbyte's job types go to the job controller as they are.
	for _, typ := range []string{"clear", "refresh", "reset"} {
		e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn, "jobType": typ}, 201, &j)
		if j.JobType != typ {
			t.Errorf("got job type %q, want %s", j.JobType, typ)
		}
		e.do(t, "DELETE", path("/api/v1/jobs/%d", j.JobID), nil, 200, nil)
	}
}

// TestJobDetail verifies GET /jobs/{id} shows each attempt's mode, counts,
// per-stream stats, failure reasons with secrets masked, and warnings.
func TestJobDetail(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	var j jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn, "jobType": "sync"}, 201, &j)

	users := protocol.StreamDescriptor{Name: "users"}
	c, _ := e.startAttempt(t)
	stats := store.Stats{RecordsEmitted: 10, BytesEmitted: 1000, RecordsCommitted: 5, BytesCommitted: 500,
		Streams: []store.StreamStats{{Stream: users, RecordsEmitted: 10, BytesEmitted: 1000, RecordsCommitted: 5, BytesCommitted: 500}}}
	no := false
	e.finishAttempt(t, store.AttemptResult{AttemptID: c.Attempt.ID, Status: store.AttemptFailed, Stats: &stats,
		FailureReasons: []store.FailureReason{{FailureOrigin: protocol.OriginDestination, FailureType: protocol.FailureTransient,
			ExternalMessage: "connection reset", InternalMessage: "auth with " + dstToken + " failed", Retryable: &no, Timestamp: 1700000000000}},
		JobStatus: store.JobIncomplete})
	c, logPath := e.startAttempt(t)
	// The second attempt ran bridged, through the relay.
	if err := e.db.SetAttemptRun(context.Background(), c.Attempt.ID, store.AttemptRun{Mode: protocol.ModeBridged,
		Format: protocol.FormatJSONL, Bridge: store.BridgeRelay, LogPath: logPath}); err != nil {
		t.Fatal(err)
	}
	stats2 := store.Stats{RecordsEmitted: 7, BytesEmitted: 700, RecordsCommitted: 7, BytesCommitted: 700,
		Streams: []store.StreamStats{{Stream: users, RecordsEmitted: 7, BytesEmitted: 700, RecordsCommitted: 7, BytesCommitted: 700, Status: "COMPLETE"}}}
	e.finishAttempt(t, store.AttemptResult{AttemptID: c.Attempt.ID, Status: store.AttemptSucceeded, Stats: &stats2,
		FailureReasons: []store.FailureReason{{FailureOrigin: protocol.OriginReplication, ExternalMessage: "no state was committed",
			Timestamp: 1700000001000, Metadata: map[string]any{"warning": true}}},
		JobStatus: store.JobSucceeded})

	var got jobJSON
	e.do(t, "GET", path("/api/v1/jobs/%d", j.JobID), nil, 200, &got)
	if got.Status != "succeeded" || got.AttemptCount != 2 || got.RowsSynced != 12 || got.BytesSynced != 1200 || got.Duration == "" {
		t.Errorf("got %+v, want succeeded after 2 attempts with 12 rows", got)
	}
	if diff := cmp.Diff([]string{"no state was committed"}, got.Warnings); diff != "" {
		t.Errorf("job warnings (-want +got):\n%s", diff)
	}
	if len(got.Attempts) != 2 {
		t.Fatalf("got %d attempts, want 2", len(got.Attempts))
	}
	a1, a2 := got.Attempts[0], got.Attempts[1]
	if a1.AttemptNumber != 1 || a1.Status != "failed" || a1.Mode != "stdio" || a1.Format != "JSONL" || a1.Bridge != "" ||
		a1.RecordsSynced != 5 || a1.RecordsEmitted != 10 || a1.Logs != path("/api/v1/jobs/%d/attempts/1/logs", j.JobID) {
		t.Errorf("attempt 1: got %+v", a1)
	}
	if diff := cmp.Diff(stats.Streams, a1.StreamStats); diff != "" {
		t.Errorf("attempt 1 stream stats (-want +got):\n%s", diff)
	}
	if a1.FailureSummary == nil || len(a1.FailureSummary.Failures) != 1 || !a1.FailureSummary.PartialSuccess {
		t.Fatalf("attempt 1 failure summary %+v, want one failure and partial success", a1.FailureSummary)
	}
	if msg := a1.FailureSummary.Failures[0].InternalMessage; msg != "auth with "+store.Mask+" failed" {
		t.Errorf("got internal message %q, want the token masked", msg)
	}
	if a2.Mode != "bridged" || a2.Bridge != "relay" {
		t.Errorf("attempt 2: mode %q, bridge %q; want bridged through the relay", a2.Mode, a2.Bridge)
	}
	if a2.Status != "succeeded" || a2.FailureSummary != nil || len(a2.Warnings) != 1 || a2.StreamStats[0].Status != "COMPLETE" {
		t.Errorf("attempt 2: got %+v, want succeeded with a warning and no failures", a2)
	}
}

// TestListJobs verifies filters and Airbyte-style pagination with full
// next and previous URLs.
func TestListJobs(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	var ids []int64
	for i := 0; i < 5; i++ {
		var j jobJSON
		e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn, "jobType": "sync"}, 201, &j)
		ids = append(ids, j.JobID)
		if i < 4 {
			e.do(t, "DELETE", path("/api/v1/jobs/%d", j.JobID), nil, 200, nil)
		}
	}
	var page listResponse[jobJSON]
	e.do(t, "GET", "/api/v1/jobs?connectionId="+f.conn+"&limit=2", nil, 200, &page)
	if got := []int64{page.Data[0].JobID, page.Data[1].JobID}; !cmp.Equal(got, []int64{ids[4], ids[3]}) {
		t.Errorf("first page %v, want the newest two %v", got, ids[3:])
	}
	if page.Previous != nil || page.Next == nil {
		t.Fatalf("first page: previous %v next %v, want only next", page.Previous, page.Next)
	}
	next, err := url.Parse(*page.Next)
	if err != nil || next.Host != strings.TrimPrefix(e.url, "http://") || next.Query().Get("offset") != "2" ||
		next.Query().Get("limit") != "2" || next.Query().Get("connectionId") != f.conn {
		t.Fatalf("next URL %q, want a full URL with offset 2, limit 2 and the filter", *page.Next)
	}
	e.do(t, "GET", next.RequestURI(), nil, 200, &page)
	if page.Previous == nil || !strings.Contains(*page.Previous, "offset=0") || page.Next == nil {
		t.Errorf("middle page: previous %v next %v, want both, previous at offset 0", page.Previous, page.Next)
	}
	e.do(t, "GET", "/api/v1/jobs?limit=2&offset=4", nil, 200, &page)
	if len(page.Data) != 1 || page.Next != nil {
		t.Errorf("last page: %d jobs, next %v; want 1 and no next", len(page.Data), page.Next)
	}
	e.do(t, "GET", "/api/v1/jobs?status=cancelled", nil, 200, &page)
	if len(page.Data) != 4 {
		t.Errorf("got %d cancelled jobs, want 4", len(page.Data))
	}
	e.do(t, "GET", "/api/v1/jobs?status=pending&jobType=sync", nil, 200, &page)
	if len(page.Data) != 1 || page.Data[0].JobID != ids[4] {
		t.Errorf("got pending %+v, want job %d", page.Data, ids[4])
	}
	e.do(t, "GET", "/api/v1/jobs?createdAtStart=2999-01-01T00:00:00Z", nil, 200, &page)
	if len(page.Data) != 0 {
		t.Errorf("got %d jobs created in 2999, want 0", len(page.Data))
	}
	b := e.do(t, "GET", "/api/v1/jobs?connectionId=none", nil, 200, nil)
	var raw map[string]json.RawMessage
	json.Unmarshal(b, &raw)
	if string(raw["data"]) != "[]" || string(raw["next"]) != "null" || string(raw["previous"]) != "null" {
		t.Errorf("empty list %s, want data [] and null links", b)
	}
}

// TestListPageEdges verifies the links at the far edges: an offset near
// the integer limit neither overflows into a negative next offset nor
// fails, and the previous link stays non-negative.
func TestListPageEdges(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	for i := 0; i < 5; i++ {
		var j jobJSON
		e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn, "jobType": "sync"}, 201, &j)
		e.do(t, "DELETE", path("/api/v1/jobs/%d", j.JobID), nil, 200, nil)
	}
	var page listResponse[jobJSON]
	for _, q := range []string{"limit=2&offset=10", "limit=100&offset=9223372036854775807", "limit=100&offset=9223372036854775800"} {
		e.do(t, "GET", "/api/v1/jobs?"+q, nil, 200, &page)
		if len(page.Data) != 0 || page.Next != nil {
			t.Errorf("%s: %d jobs, next %v; want none and no next", q, len(page.Data), page.Next)
		}
		if page.Previous == nil || strings.Contains(*page.Previous, "-") {
			t.Errorf("%s: previous %v, want a link with a non-negative offset", q, page.Previous)
		}
	}
	// The UI's pager shares the arithmetic.
	for _, c := range []struct{ offset, total int }{{math.MaxInt, 5}, {math.MaxInt - 10, 5}} {
		pg := newPager(httptest.NewRequest("GET", "/jobs", nil), store.Page{Limit: uiPageSize, Offset: c.offset}, c.total)
		if pg.Next != "" || strings.Contains(pg.Prev, "-") {
			t.Errorf("pager at offset %d: next %q prev %q, want no next and a non-negative prev", c.offset, pg.Next, pg.Prev)
		}
	}
}
