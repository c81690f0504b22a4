package web

import (
	"context"
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
}

// connectionsPage is the connections template's data.
type connectionsPage struct {
	Connections []connectionRow `json:"connections"`
	Pager       pager           `json:"pager"`
}

// handleConnectionsPage lists the connections with their last job and
// the Sync now and Reset buttons.
func handleConnectionsPage(st Store, log *slog.Logger) http.HandlerFunc {
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
		page := connectionsPage{Connections: []connectionRow{}, Pager: newPager(r, p, total)}
		for _, c := range conns {
			row := newConnectionRow(c, names)
			last, _, err := st.Jobs(r.Context(), store.JobFilter{ConnectionID: c.ID, Page: store.Page{Limit: 1}})
			if err != nil {
				writeError(w, r, log, err)
				return
			}
			if len(last) > 0 {
				jr := newJobRow(last[0], names)
				row.LastJob = &jr
			}
			page.Connections = append(page.Connections, row)
		}
		renderPage(w, r, log, "connections", view{Title: "Connections", Nav: "connections", Page: page})
	}
}

func newConnectionRow(c *store.Connection, names *nameCache) connectionRow {
	return connectionRow{ID: c.ID, Name: c.Name, SourceID: c.SourceID, Source: names.actor(store.KindSource, c.SourceID),
		DestinationID: c.DestinationID, Destination: names.actor(store.KindDestination, c.DestinationID),
		Schedule: scheduleText(c.Schedule), Status: string(c.Status), NextRun: c.NextRunAt}
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

// handleTriggerForm starts a sync or a reset of the connection in the
// URL and shows its job. A connection that is busy is a 409 page naming
// the active job.
func handleTriggerForm(jobs Jobs, typ store.JobType, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		trigger := jobs.Trigger
		if m, ok := jobs.(manualTrigger); ok {
			trigger = m.TriggerManual
		}
		j, err := trigger(r.Context(), mux.Vars(r)["connectionId"], typ)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		http.Redirect(w, r, "/jobs/"+strconv.FormatInt(j.ID, 10), http.StatusSeeOther)
	}
}

// renderPage renders a page, or the error page when the template fails.
func renderPage(w http.ResponseWriter, r *http.Request, log *slog.Logger, name string, v view) {
	if err := render(w, r, http.StatusOK, name, v); err != nil {
		writeError(w, r, log, err)
	}
}
