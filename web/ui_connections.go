package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/store"
)

// connectionRow is a connection as the list shows it.
type connectionRow struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	SourceID      string     `json:"sourceId"`
	Source        string     `json:"source"`
	DestinationID string     `json:"destinationId"`
	Destination   string     `json:"destination"`
	Schedule      string     `json:"schedule"`
	Status        string     `json:"status"`
	NextRun       *time.Time `json:"nextRun"`
	LastJob       *jobRow    `json:"lastJob"`
	// Streams names the selected streams, for the clear's confirmation.
	Streams string `json:"streams"`
}

// connectionsPage is the connections template's data.
type connectionsPage struct {
	Connections []connectionRow `json:"connections"`
	Pager       pager           `json:"pager"`
	// Done says what just happened ("deleted").
	Done string `json:"done"`
}

// handleConnectionsPage lists the connections with their last job and
// the Sync now and Reset buttons.
func handleConnectionsPage(st Store, redactor redactorFunc, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := pageOf(r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		conns, total, err := st.Connections(r.Context(), store.ConnectionFilter{Page: p})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		names := newNameCache(r.Context(), st)
		ids := make([]string, len(conns))
		for i, c := range conns {
			ids[i] = c.ID
			names.knowConnection(c)
		}
		last, err := st.LastJobs(r.Context(), ids)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		page := connectionsPage{Connections: []connectionRow{}, Pager: newPager(r, p, total), Done: r.URL.Query().Get("done")}
		for _, c := range conns {
			row := newConnectionRow(c, names)
			if j := last[c.ID]; j != nil {
				jr := newJobRow(j, names)
				row.LastJob = &jr
			}
			page.Connections = append(page.Connections, row)
		}
		if err := connectionReasons(r.Context(), st, redactor, page.Connections); err != nil {
			writeError(w, r, log, err)
			return
		}
		renderPage(w, r, log, "connections", view{Title: "Connections", Nav: "connections", Page: page})
	}
}

func newConnectionRow(c *store.Connection, names *nameCache) connectionRow {
	return connectionRow{ID: c.ID, Name: c.Name, SourceID: c.SourceID, Source: names.actor(store.KindSource, c.SourceID),
		DestinationID: c.DestinationID, Destination: names.actor(store.KindDestination, c.DestinationID),
		Schedule: scheduleText(c.Schedule), Status: string(c.Status), NextRun: c.NextRunAt, Streams: streamNames(c)}
}

// scheduleText describes a schedule in a few words.
func scheduleText(s store.Schedule) string {
	switch s.Type {
	case store.ScheduleInterval:
		return "every " + humanDuration(time.Duration(s.IntervalSeconds)*time.Second)
	case store.ScheduleCron:
		tz := s.Timezone
		if tz == "" {
			tz = "UTC"
		}
		return "cron " + s.Cron + " (" + tz + ")"
	}
	return "manual"
}

// manualTrigger is implemented by a Jobs that records who asked: a job
// started by a person in the UI is labelled manual, not api.
type manualTrigger interface {
	TriggerManual(ctx context.Context, connectionID string, jobType store.JobType) (*store.Job, error)
}

// handleTriggerForm starts a sync, clear or refresh of the connection in
// the URL and shows its job. The buttons are disabled while a job runs,
// but two tabs or a scheduled run can still race a click: that 409 is a
// page that links to the job that won.
func handleTriggerForm(st Store, jobs Jobs, typ store.JobType, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		trigger := jobs.Trigger
		if m, ok := jobs.(manualTrigger); ok {
			trigger = m.TriggerManual
		}
		connID := mux.Vars(r)["connectionId"]
		j, err := trigger(r.Context(), connID, typ)
		if errors.Is(err, store.ErrConflict) {
			renderBusy(w, r, st, log, connID, typ)
			return
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		http.Redirect(w, r, "/jobs/"+strconv.FormatInt(j.ID, 10), http.StatusSeeOther)
	}
}

// busyPage is the busy template's data: a job could not start because
// another one is active.
type busyPage struct {
	ConnectionID string  `json:"connectionId"`
	Connection   string  `json:"connection"`
	Wanted       string  `json:"wanted"`
	Active       *jobRow `json:"active"`
}

// renderBusy answers a trigger that lost the race with a 409 page naming
// the active job. When that job ended in the meantime, the page says so
// and the user may press the button again.
func renderBusy(w http.ResponseWriter, r *http.Request, st Store, log *slog.Logger, connID string, typ store.JobType) {
	names := newNameCache(r.Context(), st)
	page := busyPage{ConnectionID: connID, Connection: names.connection(connID), Wanted: string(typ)}
	active, err := activeJob(r.Context(), st, connID)
	if err != nil {
		writeError(w, r, log, err)
		return
	}
	if active != nil {
		row := newJobRow(active, names)
		page.Active = &row
	}
	renderStatus(w, r, log, http.StatusConflict, "busy", view{Title: "Already running", Nav: "connections", Page: page})
}

// renderPage renders a page, or the error page when the template fails.
func renderPage(w http.ResponseWriter, r *http.Request, log *slog.Logger, name string, v view) {
	if err := render(w, r, http.StatusOK, name, v); err != nil {
		writeError(w, r, log, err)
	}
}

// connectionReasons fills in the reason of each failed last job.
func connectionReasons(ctx context.Context, st Store, redactor redactorFunc, rows []connectionRow) error {
	var last []jobRow
	for _, c := range rows {
		if c.LastJob != nil {
			last = append(last, *c.LastJob)
		}
	}
	if err := fillReasons(ctx, st, redactor, last); err != nil {
		return err
	}
	i := 0
	for _, c := range rows {
		if c.LastJob != nil {
			c.LastJob.Reason = last[i].Reason
			i++
		}
	}
	return nil
}
