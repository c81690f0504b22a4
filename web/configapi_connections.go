package web

import (
	"net/http"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// configConnectionRead is the configuration API's ConnectionRead: the
// connection with its catalog as syncCatalog (each stream beside its
// configuration), which Dagster reads to name its assets.
type configConnectionRead struct {
	ConnectionID        string              `json:"connectionId"`
	Name                string              `json:"name"`
	NamespaceDefinition string              `json:"namespaceDefinition"`
	NamespaceFormat     string              `json:"namespaceFormat,omitempty"`
	Prefix              string              `json:"prefix"`
	SourceID            string              `json:"sourceId"`
	DestinationID       string              `json:"destinationId"`
	WorkspaceID         string              `json:"workspaceId"`
	SyncCatalog         configSyncCatalog   `json:"syncCatalog"`
	ScheduleType        string              `json:"scheduleType"`
	ScheduleData        *configScheduleData `json:"scheduleData,omitempty"`
	Status              string              `json:"status"`
	NonBreakingChanges  string              `json:"nonBreakingChangesPreference"`
	Geography           string              `json:"geography"`
	CreatedAt           int64               `json:"createdAt"`
}

type configSyncCatalog struct {
	Streams []configStreamAndConfig `json:"streams"`
}

type configStreamAndConfig struct {
	Stream protocol.Stream    `json:"stream"`
	Config configStreamConfig `json:"config"`
}

// configStreamConfig is AirbyteStreamConfiguration. Every stream of a
// Ferry connection is selected: a deselected stream is not in its catalog.
type configStreamConfig struct {
	SyncMode              string              `json:"syncMode"`
	DestinationSyncMode   string              `json:"destinationSyncMode"`
	CursorField           []string            `json:"cursorField"`
	PrimaryKey            [][]string          `json:"primaryKey"`
	AliasName             string              `json:"aliasName"`
	Selected              bool                `json:"selected"`
	FieldSelectionEnabled bool                `json:"fieldSelectionEnabled"`
	SelectedFields        []selectedFieldJSON `json:"selectedFields,omitempty"`
}

type configScheduleData struct {
	BasicSchedule *configBasicSchedule `json:"basicSchedule,omitempty"`
	Cron          *configCron          `json:"cron,omitempty"`
}

type configBasicSchedule struct {
	TimeUnit string `json:"timeUnit"`
	Units    int64  `json:"units"`
}

type configCron struct {
	CronExpression string `json:"cronExpression"`
	CronTimeZone   string `json:"cronTimeZone"`
}

func newConfigConnection(c *store.Connection) configConnectionRead {
	out := configConnectionRead{ConnectionID: c.ID, Name: c.Name, NamespaceDefinition: string(c.NamespaceDefinition),
		NamespaceFormat: c.NamespaceFormat, Prefix: c.Prefix, SourceID: c.SourceID, DestinationID: c.DestinationID,
		WorkspaceID: c.WorkspaceID, ScheduleType: string(c.Schedule.Type), Status: string(c.Status),
		NonBreakingChanges: c.NonBreakingChanges, Geography: c.DataResidency, CreatedAt: c.CreatedAt.Unix(),
		SyncCatalog: configSyncCatalog{Streams: []configStreamAndConfig{}}}
	switch c.Schedule.Type {
	case store.ScheduleInterval:
		out.ScheduleType = string(scheduleBasic)
		out.ScheduleData = &configScheduleData{BasicSchedule: basicUnitsOf(c.Schedule.IntervalSeconds)}
	case store.ScheduleCron:
		tz := c.Schedule.Timezone
		if tz == "" {
			tz = "UTC"
		}
		out.ScheduleData = &configScheduleData{Cron: &configCron{CronExpression: c.Schedule.Cron, CronTimeZone: tz}}
	}
	for _, cs := range c.Catalog.Streams {
		sc := configStreamConfig{SyncMode: cs.SyncMode, DestinationSyncMode: cs.DestinationSyncMode,
			CursorField: nonNil(cs.CursorField), PrimaryKey: nonNil(cs.PrimaryKey), AliasName: cs.Stream.Name, Selected: true}
		for _, sf := range c.SelectedFields {
			if sf.Stream == cs.Stream.Descriptor() {
				sc.FieldSelectionEnabled = true
				for _, f := range sf.Fields {
					sc.SelectedFields = append(sc.SelectedFields, selectedFieldJSON{FieldPath: []string{f}})
				}
			}
		}
		out.SyncCatalog.Streams = append(out.SyncCatalog.Streams, configStreamAndConfig{Stream: cs.Stream, Config: sc})
	}
	return out
}

// basicUnitsOf writes an interval as the configuration API's basic
// schedule: the largest of its units (minutes, hours, days, weeks) that
// divides it.
func basicUnitsOf(seconds int64) *configBasicSchedule {
	for _, u := range []struct {
		name string
		secs int64
	}{{"weeks", 7 * 86400}, {"days", 86400}, {"hours", 3600}, {"minutes", 60}} {
		if seconds%u.secs == 0 {
			return &configBasicSchedule{TimeUnit: u.name, Units: seconds / u.secs}
		}
	}
	return &configBasicSchedule{TimeUnit: "minutes", Units: max(1, seconds/60)}
}

func (s *Server) handleConfigConnection(w http.ResponseWriter, r *http.Request) {
	var req configIDRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if req.ConnectionID == "" {
		writeError(w, r, s.log, &store.ValidationError{Field: "connectionId", Message: "is required"})
		return
	}
	c, err := s.cfg.Store.Connection(r.Context(), req.ConnectionID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newConfigConnection(c))
}

// handleConfigConnections lists a workspace's connections (all of them
// when the body names none), every page of them.
func (s *Server) handleConfigConnections(w http.ResponseWriter, r *http.Request) {
	var req configIDRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			writeError(w, r, s.log, err)
			return
		}
	}
	f := store.ConnectionFilter{Page: store.Page{Limit: maxLimit}}
	if req.WorkspaceID != "" {
		if _, err := s.cfg.Store.Workspace(r.Context(), req.WorkspaceID); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		f.WorkspaceIDs = []string{req.WorkspaceID}
	}
	out := struct {
		Connections []configConnectionRead `json:"connections"`
	}{Connections: []configConnectionRead{}}
	for {
		conns, total, err := s.cfg.Store.Connections(r.Context(), f)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		for _, c := range conns {
			out.Connections = append(out.Connections, newConfigConnection(c))
		}
		f.Offset += len(conns)
		if len(conns) == 0 || f.Offset >= total {
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
}
