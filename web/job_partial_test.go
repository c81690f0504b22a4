package web

import (
	"context"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// TestJobPartialSuccess: a sync that succeeded with warnings (G11) keeps
// the status succeeded, and is flagged partialSuccess in the job list as
// in the job, which also lists its warnings.
func TestJobPartialSuccess(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	ctx := context.Background()
	if _, err := e.db.CreateJob(ctx, f.conn, store.JobSync, store.TriggerAPI); err != nil {
		t.Fatal(err)
	}
	c, err := e.db.ClaimJob(ctx, store.Owner{InstanceID: "test", PID: 1})
	if err != nil || c == nil {
		t.Fatalf("claim: %v, %v", c, err)
	}
	warning := store.FailureReason{FailureOrigin: protocol.OriginReplication, Timestamp: 1,
		ExternalMessage: "the destination acknowledged no state", Metadata: map[string]any{store.WarningMetadata: true}}
	if _, err := e.db.FinishAttempt(ctx, store.AttemptResult{AttemptID: c.Attempt.ID, Status: store.AttemptSucceeded,
		JobStatus: store.JobSucceeded, FailureReasons: []store.FailureReason{warning}}); err != nil {
		t.Fatal(err)
	}
	var page listResponse[jobJSON]
	e.do(t, "GET", "/api/v1/jobs?connectionId="+f.conn, nil, 200, &page)
	if len(page.Data) != 1 || page.Data[0].Status != "succeeded" || !page.Data[0].PartialSuccess {
		t.Fatalf("job list %+v, want one succeeded job flagged partialSuccess", page.Data)
	}
	var j jobJSON
	e.do(t, "GET", path("/api/v1/jobs/%d", c.Job.ID), nil, 200, &j)
	if j.Status != "succeeded" || !j.PartialSuccess || len(j.Warnings) != 1 {
		t.Errorf("job %+v, want succeeded, partialSuccess, one warning", j)
	}
}
