package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// jobRequest is Airbyte's JobCreateRequest.
type jobRequest struct {
	ConnectionID string `json:"connectionId"`
	JobType      string `json:"jobType"`
}

func (s *Server) jobRoutes(r apiRouter) {
	r.handle(http.MethodGet, "/jobs", s.handleListJobs)
	r.handle(http.MethodPost, "/jobs", s.handleCreateJob)
	r.handle(http.MethodGet, "/jobs/{jobId}", s.handleGetJob)
	r.handle(http.MethodDelete, "/jobs/{jobId}", s.handleCancelJob)
}

// jobStatuses are the statuses GET /jobs filters by.
var jobStatuses = map[store.JobStatus]bool{
	store.JobPending: true, store.JobRunning: true, store.JobIncomplete: true,
	store.JobSucceeded: true, store.JobFailed: true, store.JobCancelled: true,
}

func (s *Server) handleListJobs(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	q := r.URL.Query()
	f := store.JobFilter{ConnectionID: q.Get("connectionId"), Status: store.JobStatus(q.Get("status")),
		Type: store.JobType(q.Get("jobType")), WorkspaceIDs: workspaceIDs(r), Page: p}
	switch {
	case f.Status != "" && !jobStatuses[f.Status]:
		err = badRequest("status", "status must be one of pending, running, incomplete, succeeded, failed, cancelled")
	case f.Type != "" && !jobTypes[f.Type]:
		err = badRequest("jobType", "jobType must be sync, reset, clear or refresh")
	}
	if err == nil {
		f.OrderBy, f.Descending, err = orderBy(q.Get("orderBy"))
	}
	if err == nil {
		f.CreatedFrom, err = timeParam(r, "createdAtStart")
	}
	if err == nil {
		f.CreatedTo, err = timeParam(r, "createdAtEnd")
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	jobs, total, err := s.cfg.Store.Jobs(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]jobJSON, len(jobs))
	for i, j := range jobs {
		out[i] = newJobJSON(j, nil) // lists carry no attempts, so no connector text
	}
	writeList(w, r, newList(r, p, total, out))
}

// jobTypes are the job types the API takes, as Airbyte's JobTypeEnum.
var jobTypes = map[store.JobType]bool{store.JobSync: true, store.JobReset: true, store.JobClear: true, store.JobRefresh: true}

// orderBy reads Airbyte's orderBy parameter, FIELD|ASC or FIELD|DESC
// (ascending when the direction is left out), for the fields createdAt
// and updatedAt.
func orderBy(v string) (field string, desc bool, err error) {
	if v == "" {
		return "", false, nil
	}
	field, dir, _ := strings.Cut(v, "|")
	switch strings.ToUpper(dir) {
	case "", "ASC":
	case "DESC":
		desc = true
	default:
		return "", false, badRequest("orderBy", "orderBy must be FIELD|ASC or FIELD|DESC, not %q", v)
	}
	if field != "createdAt" && field != "updatedAt" {
		return "", false, badRequest("orderBy", "orderBy sorts by createdAt or updatedAt, not %q", field)
	}
	return field, desc, nil
}

func timeParam(r *http.Request, name string) (*time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, badRequest(name, "%s must be an RFC 3339 time such as 2025-01-31T00:00:00Z", name)
	}
	return &t, nil
}

// handleCreateJob triggers a sync, reset (clear) or refresh: the pending
// job (201 on Ferry's API, 200 on Airbyte's), 409 while the connection
// has one active.
func (s *Server) handleCreateJob(w http.ResponseWriter, r *http.Request) {
	var req jobRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	j, err := s.triggerJob(r, req.ConnectionID, req.JobType)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeCreated(w, r, "/jobs/"+strconv.FormatInt(j.ID, 10), newJobJSON(j, nil))
}

// triggerJob checks a job request and hands it to the job controller.
// An empty type is a sync.
func (s *Server) triggerJob(r *http.Request, connID, jobType string) (*store.Job, error) {
	typ := store.JobType(jobType)
	if typ == "" {
		typ = store.JobSync
	}
	if !jobTypes[typ] {
		return nil, &store.ValidationError{Field: "jobType", Message: fmt.Sprintf("is %q; it must be sync, reset, clear or refresh", jobType)}
	}
	if connID == "" {
		return nil, &store.ValidationError{Field: "connectionId", Message: "is required"}
	}
	j, err := s.cfg.Jobs.Trigger(r.Context(), connID, typ)
	if err != nil {
		return nil, missingRef(r, err, "connectionId", "names no connection")
	}
	return j, nil
}

func (s *Server) handleGetJob(w http.ResponseWriter, r *http.Request) {
	id, err := jobID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	j, err := s.cfg.Store.Job(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	red, err := s.connectionRedactor(r.Context(), j.ConnectionID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newJobJSON(j, red))
}

// handleCancelJob cancels a job and returns it; 409 when it has ended.
func (s *Server) handleCancelJob(w http.ResponseWriter, r *http.Request) {
	id, err := jobID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	j, err := s.cfg.Jobs.Cancel(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newJobJSON(j, nil))
}

func jobID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["jobId"], 10, 64)
	if err != nil || id < 1 {
		return 0, badRequest("jobId", "jobId must be a positive integer")
	}
	return id, nil
}

// connectionRedactor masks the secret values of a connection's source and
// destination configs. The runner masks connector output before it is
// stored; this is the second line, at the API boundary, for text a
// connector sent that the runner could not have known to mask (a secret
// changed since the attempt ran is still masked here, by its new value
// only). A deleted connection or actor has nothing left to mask.
func (s *Server) connectionRedactor(ctx context.Context, connID string) (*secret.Redactor, error) {
	c, err := s.cfg.Store.Connection(ctx, connID)
	if errors.Is(err, store.ErrNotFound) {
		return &secret.Redactor{}, nil
	} else if err != nil {
		return nil, err
	}
	var secrets [][]string
	for _, end := range []struct {
		kind store.ActorKind
		id   string
	}{{store.KindSource, c.SourceID}, {store.KindDestination, c.DestinationID}} {
		rc, err := s.cfg.Store.ActorConfig(ctx, end.kind, end.id)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		}
		secrets = append(secrets, rc.Secrets)
	}
	return newRedactor(secrets...), nil
}
