package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// The calls of Airbyte's older configuration API that orchestrators make
// (Dagster's and Prefect's Airbyte integrations, Airflow's older
// operator, many scripts): every one a POST with a JSON body, under
// /api/v1 beside Ferry's own resources, answering in that API's shapes.
// They trigger and watch syncs; everything else is Ferry's own API or the
// public one. Requests are read as leniently as everywhere (json.go).

func (s *Server) configAPIRoutes(r apiRouter) {
	r.handleFerry(http.MethodPost, "/connections/sync", s.handleConfigSync)
	r.handleFerry(http.MethodPost, "/connections/get", s.handleConfigConnection)
	r.handleFerry(http.MethodPost, "/connections/list", s.handleConfigConnections)
	r.handleFerry(http.MethodPost, "/jobs/get", s.handleConfigJob)
	r.handleFerry(http.MethodPost, "/jobs/cancel", s.handleConfigCancel)
	r.handleFerry(http.MethodPost, "/jobs/list", s.handleConfigJobs)
	r.handleFerry(http.MethodPost, "/workspaces/list", s.handleConfigWorkspaces)
}

// configJobRead is the configuration API's JobRead.
type configJobRead struct {
	ID         int64  `json:"id"`
	ConfigType string `json:"configType"`
	ConfigID   string `json:"configId"`
	CreatedAt  int64  `json:"createdAt"`
	UpdatedAt  int64  `json:"updatedAt"`
	StartedAt  *int64 `json:"startedAt,omitempty"`
	Status     string `json:"status"`
}

// configAttemptRead is its AttemptRead; the id is the attempt's number
// within the job, as Airbyte numbers attempts.
type configAttemptRead struct {
	ID             int64                 `json:"id"`
	Status         string                `json:"status"`
	CreatedAt      int64                 `json:"createdAt"`
	UpdatedAt      int64                 `json:"updatedAt"`
	EndedAt        *int64                `json:"endedAt,omitempty"`
	BytesSynced    int64                 `json:"bytesSynced"`
	RecordsSynced  int64                 `json:"recordsSynced"`
	TotalStats     configAttemptStats    `json:"totalStats"`
	StreamStats    []configStreamStats   `json:"streamStats"`
	FailureSummary *configFailureSummary `json:"failureSummary,omitempty"`
}

type configAttemptStats struct {
	RecordsEmitted   int64 `json:"recordsEmitted"`
	BytesEmitted     int64 `json:"bytesEmitted"`
	RecordsCommitted int64 `json:"recordsCommitted"`
	BytesCommitted   int64 `json:"bytesCommitted"`
}

type configStreamStats struct {
	StreamName      string             `json:"streamName"`
	StreamNamespace string             `json:"streamNamespace,omitempty"`
	Stats           configAttemptStats `json:"stats"`
}

type configFailureSummary struct {
	Failures       []configFailure `json:"failures"`
	PartialSuccess bool            `json:"partialSuccess"`
}

type configFailure struct {
	FailureOrigin   string `json:"failureOrigin,omitempty"`
	FailureType     string `json:"failureType,omitempty"`
	ExternalMessage string `json:"externalMessage,omitempty"`
	InternalMessage string `json:"internalMessage,omitempty"`
	Timestamp       int64  `json:"timestamp"`
}

// configAttemptInfo is AttemptInfoRead: an attempt and its log lines.
// The log is served by GET /api/v1/jobs/{id}/attempts/{n}/logs; here the
// lines are left empty, and logsUrl says where they are.
type configAttemptInfo struct {
	Attempt configAttemptRead `json:"attempt"`
	Logs    configLogs        `json:"logs"`
}

type configLogs struct {
	LogLines []string `json:"logLines"`
	LogsURL  string   `json:"logsUrl"`
}

// configJobInfo is JobInfoRead, what sync, get and cancel answer.
type configJobInfo struct {
	Job      configJobRead       `json:"job"`
	Attempts []configAttemptInfo `json:"attempts"`
}

// configTypes maps job types to the configuration API's JobConfigType.
var configTypes = map[store.JobType]string{
	store.JobSync: "sync", store.JobReset: "reset_connection", store.JobClear: "clear", store.JobRefresh: "refresh",
}

func newConfigJobRead(j *store.Job) configJobRead {
	out := configJobRead{ID: j.ID, ConfigType: configTypes[j.Type], ConfigID: j.ConnectionID,
		CreatedAt: j.CreatedAt.Unix(), UpdatedAt: j.UpdatedAt.Unix(), Status: string(j.Status)}
	out.StartedAt = unixOpt(j.StartedAt)
	return out
}

func unixOpt(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	u := t.Unix()
	return &u
}

func newConfigAttempt(a *store.Attempt, j *store.Job, red *secret.Redactor) configAttemptRead {
	aj := newAttemptJSON(j, a, red)
	out := configAttemptRead{ID: int64(a.Number), Status: string(a.Status), CreatedAt: a.StartedAt.Unix(),
		UpdatedAt: a.UpdatedAt.Unix(), EndedAt: unixOpt(a.EndedAt),
		BytesSynced: a.Stats.BytesCommitted, RecordsSynced: a.Stats.RecordsCommitted,
		TotalStats:  configAttemptStats{a.Stats.RecordsEmitted, a.Stats.BytesEmitted, a.Stats.RecordsCommitted, a.Stats.BytesCommitted},
		StreamStats: []configStreamStats{}}
	if a.Status == store.AttemptCancelled {
		out.Status = "failed" // the configuration API's attempts run, fail or succeed
	}
	for _, st := range a.Stats.Streams {
		out.StreamStats = append(out.StreamStats, configStreamStats{StreamName: st.Stream.Name, StreamNamespace: st.Stream.Namespace,
			Stats: configAttemptStats{st.RecordsEmitted, st.BytesEmitted, st.RecordsCommitted, st.BytesCommitted}})
	}
	if aj.FailureSummary != nil {
		fs := &configFailureSummary{PartialSuccess: aj.FailureSummary.PartialSuccess, Failures: []configFailure{}}
		for _, f := range aj.FailureSummary.Failures {
			fs.Failures = append(fs.Failures, configFailure{FailureOrigin: f.FailureOrigin, FailureType: f.FailureType,
				ExternalMessage: f.ExternalMessage, InternalMessage: f.InternalMessage, Timestamp: f.Timestamp})
		}
		out.FailureSummary = fs
	}
	return out
}

// jobInfo loads a job with its attempts, texts masked, as JobInfoRead.
func (s *Server) jobInfo(r *http.Request, id int64) (configJobInfo, error) {
	j, err := s.cfg.Store.Job(r.Context(), id)
	if err != nil {
		return configJobInfo{}, err
	}
	red, err := s.connectionRedactor(r.Context(), j.ConnectionID)
	if err != nil {
		return configJobInfo{}, err
	}
	out := configJobInfo{Job: newConfigJobRead(j), Attempts: []configAttemptInfo{}}
	for _, a := range j.Attempts {
		out.Attempts = append(out.Attempts, configAttemptInfo{Attempt: newConfigAttempt(a, j, red),
			Logs: configLogs{LogLines: []string{}, LogsURL: newAttemptJSON(j, a, red).Logs}})
	}
	return out, nil
}

// configIDRequest is the body of the calls that name one object.
type configIDRequest struct {
	ID           int64  `json:"id"`
	ConnectionID string `json:"connectionId"`
	WorkspaceID  string `json:"workspaceId"`
}

// handleConfigSync starts a sync: JobInfoRead of the new job.
func (s *Server) handleConfigSync(w http.ResponseWriter, r *http.Request) {
	var req configIDRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	j, err := s.triggerJob(r, req.ConnectionID, string(store.JobSync))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.writeJobInfo(w, r, j.ID)
}

func (s *Server) writeJobInfo(w http.ResponseWriter, r *http.Request, id int64) {
	info, err := s.jobInfo(r, id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) handleConfigJob(w http.ResponseWriter, r *http.Request) {
	var req configIDRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if req.ID < 1 {
		writeError(w, r, s.log, &store.ValidationError{Field: "id", Message: "is required: a job id"})
		return
	}
	s.writeJobInfo(w, r, req.ID)
}

func (s *Server) handleConfigCancel(w http.ResponseWriter, r *http.Request) {
	var req configIDRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if req.ID < 1 {
		writeError(w, r, s.log, &store.ValidationError{Field: "id", Message: "is required: a job id"})
		return
	}
	if _, err := s.cfg.Jobs.Cancel(r.Context(), req.ID); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.writeJobInfo(w, r, req.ID)
}

// configJobsRequest is JobListRequestBody.
type configJobsRequest struct {
	ConfigTypes []string `json:"configTypes"`
	ConfigID    string   `json:"configId"`
	Pagination  *struct {
		PageSize  int `json:"pageSize"`
		RowOffset int `json:"rowOffset"`
	} `json:"pagination"`
}

// configJobWithAttempts is JobWithAttemptsRead.
type configJobWithAttempts struct {
	Job      configJobRead       `json:"job"`
	Attempts []configAttemptRead `json:"attempts"`
}

// handleConfigJobs lists a connection's jobs, newest first, filtered by
// config types; a list of several types is filtered here, since the store
// filters by one.
func (s *Server) handleConfigJobs(w http.ResponseWriter, r *http.Request) {
	var req configJobsRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	f := store.JobFilter{ConnectionID: req.ConfigID, Page: store.Page{Limit: defaultLimit}}
	if p := req.Pagination; p != nil {
		if p.PageSize < 0 || p.PageSize > maxLimit || p.RowOffset < 0 {
			writeError(w, r, s.log, &store.ValidationError{Field: "pagination", Message: "pageSize is 1-100 and rowOffset not negative"})
			return
		}
		f.Limit, f.Offset = max(p.PageSize, 1), p.RowOffset
	}
	want := map[string]bool{}
	for _, t := range req.ConfigTypes {
		if !isConfigType(t) {
			writeError(w, r, s.log, &store.ValidationError{Field: "configTypes", Message: "has " + t + "; job types are sync, reset_connection, clear, refresh"})
			return
		}
		want[t] = true
	}
	if len(want) == 1 {
		for t := range want {
			f.Type = jobTypeOfConfig(t)
		}
	}
	jobs, total, err := s.cfg.Store.Jobs(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := struct {
		Jobs          []configJobWithAttempts `json:"jobs"`
		TotalJobCount int                     `json:"totalJobCount"`
	}{Jobs: []configJobWithAttempts{}, TotalJobCount: total}
	for _, j := range jobs {
		if len(want) > 1 && !want[configTypes[j.Type]] {
			out.TotalJobCount--
			continue
		}
		info, err := s.jobInfo(r, j.ID)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		jw := configJobWithAttempts{Job: info.Job, Attempts: []configAttemptRead{}}
		for _, a := range info.Attempts {
			jw.Attempts = append(jw.Attempts, a.Attempt)
		}
		out.Jobs = append(out.Jobs, jw)
	}
	writeJSON(w, http.StatusOK, out)
}

func isConfigType(t string) bool { return jobTypeOfConfig(t) != "" }

func jobTypeOfConfig(t string) store.JobType {
	for typ, name := range configTypes {
		if name == t {
			return typ
		}
	}
	return ""
}

// configWorkspaceRead is WorkspaceRead, with what Ferry has.
type configWorkspaceRead struct {
	WorkspaceID          string `json:"workspaceId"`
	CustomerID           string `json:"customerId"`
	Name                 string `json:"name"`
	Slug                 string `json:"slug"`
	InitialSetupComplete bool   `json:"initialSetupComplete"`
	DefaultGeography     string `json:"defaultGeography"`
}

func (s *Server) handleConfigWorkspaces(w http.ResponseWriter, r *http.Request) {
	ws, _, err := s.cfg.Store.Workspaces(r.Context(), store.WorkspaceFilter{Page: store.Page{Limit: maxLimit}})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := struct {
		Workspaces []configWorkspaceRead `json:"workspaces"`
	}{Workspaces: []configWorkspaceRead{}}
	for _, x := range ws {
		out.Workspaces = append(out.Workspaces, configWorkspaceRead{WorkspaceID: x.ID, CustomerID: x.ID, Name: x.Name,
			Slug: strings.ReplaceAll(strings.ToLower(x.Name), " ", "-"), InitialSetupComplete: true, DefaultGeography: x.DataResidency})
	}
	writeJSON(w, http.StatusOK, out)
}
