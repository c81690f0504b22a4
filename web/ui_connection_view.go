package web

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// The builder's page data: the form (connForm) laid over the discovered
// catalog, with the options each input offers.

// connFormPage is the connection_form template's data.
type connFormPage struct {
	Editing bool   `json:"editing"`
	ID      string `json:"id"`
	Action  string `json:"action"`
	Name    string `json:"name"`
	// Sources and Destinations are the choices of a new connection.
	Sources       []option `json:"sources"`
	Destinations  []option `json:"destinations"`
	SourceID      string   `json:"sourceId"`
	DestinationID string   `json:"destinationId"`
	Source        string   `json:"source"`
	Destination   string   `json:"destination"`
	// Picked: both ends are chosen, so the streams can be shown.
	Picked        bool               `json:"picked"`
	DiscoverError string             `json:"discoverError"`
	DiscoveredAt  string             `json:"discoveredAt"`
	Streams       []streamFormView   `json:"streams"`
	Known         []string           `json:"known"`
	Diff          *schemaDiff        `json:"diff"`
	Namespaces    []option           `json:"namespaces"`
	NSFormat      string             `json:"namespaceFormat"`
	Prefix        string             `json:"prefix"`
	Schedule      scheduleFormView   `json:"schedule"`
	Channels      []option           `json:"channels"`
	SocketCount   string             `json:"socketCount"`
	Errors        map[string]string  `json:"errors"`
	Saved         bool               `json:"saved"`
	Running       *runningJobSummary `json:"running"`
}

// runningJobSummary names a connection's active job.
type runningJobSummary struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

// option is one choice of a select, a radio group or a checkbox list.
type option struct {
	Value    string `json:"value"`
	Label    string `json:"label"`
	Selected bool   `json:"selected"`
}

// streamFormView is one stream's row of inputs.
type streamFormView struct {
	Index     int    `json:"index"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Selected  bool   `json:"selected"`
	// New marks a stream the last schema refresh found.
	New   bool     `json:"new"`
	Modes []option `json:"modes"`
	// SourceCursor is the source-defined cursor, when it has one; then
	// Cursors is empty.
	SourceCursor string   `json:"sourceCursor"`
	Cursors      []option `json:"cursors"`
	SourceKey    string   `json:"sourceKey"`
	Keys         []option `json:"keys"`
	Fields       []option `json:"fields"`
	// Errors by input: syncMode, cursor, primaryKey, fields.
	Errors map[string]string `json:"errors"`
}

// scheduleFormView is the schedule's inputs and the next run times.
type scheduleFormView struct {
	Types    []option `json:"types"`
	Type     string   `json:"type"`
	Interval string   `json:"interval"`
	Units    []option `json:"units"`
	Cron     string   `json:"cron"`
	Timezone string   `json:"timezone"`
	// Next are the next three run times, in the schedule's zone and UTC.
	Next []string `json:"next"`
}

// syncModeLabels are the names Airbyte's UI gives the sync modes.
var syncModeLabels = map[string]string{
	"full_refresh_overwrite":         "Full refresh | Overwrite",
	"full_refresh_overwrite_deduped": "Full refresh | Overwrite + Deduped",
	"full_refresh_append":            "Full refresh | Append",
	"full_refresh_update":            "Full refresh | Update",
	"full_refresh_soft_delete":       "Full refresh | Soft delete",
	"incremental_append":             "Incremental | Append",
	"incremental_deduped_history":    "Incremental | Append + Deduped",
	"incremental_update":             "Incremental | Update",
	"incremental_soft_delete":        "Incremental | Soft delete",
}

// streamKey identifies a stream in the form's Known list: its namespace
// and name as a JSON array, which no name can break.
func streamKey(d protocol.StreamDescriptor) string {
	b, _ := json.Marshal([]string{d.Namespace, d.Name})
	return string(b)
}

// fillStreams lays the form over the catalog.
func (p *connFormPage) fillStreams(f *connForm, cat *protocol.Catalog, writes []string, added map[string]bool) {
	p.Streams = []streamFormView{}
	for i, st := range cat.Streams {
		ch := f.Streams[st.Descriptor()]
		if ch == nil {
			ch = defaultChoice(st, false)
		}
		fields := fieldNames(st.JSONSchema)
		pre := "streams." + strconv.Itoa(i) + "."
		v := streamFormView{Index: i, Name: st.Name, Namespace: st.Namespace, Selected: ch.Selected,
			New: added[streamKey(st.Descriptor())], Errors: map[string]string{}}
		for _, m := range modesFor(&st, writes) {
			v.Modes = append(v.Modes, option{Value: m, Label: syncModeLabels[m] + " (" + m + ")", Selected: m == ch.SyncMode})
		}
		if st.SourceDefinedCursor {
			v.SourceCursor = strings.Join(st.DefaultCursorField, ".")
		} else {
			v.Cursors = append(v.Cursors, option{Value: "", Label: "—", Selected: ch.Cursor == ""})
			for _, n := range fields {
				v.Cursors = append(v.Cursors, option{Value: n, Label: n, Selected: n == ch.Cursor})
			}
		}
		if len(st.SourceDefinedPrimaryKey) > 0 {
			v.SourceKey = keyText(st.SourceDefinedPrimaryKey)
		} else {
			for _, n := range fields {
				v.Keys = append(v.Keys, option{Value: n, Label: n, Selected: slices.Contains(ch.PrimaryKey, n)})
			}
		}
		for _, n := range fields {
			v.Fields = append(v.Fields, option{Value: n, Label: n, Selected: ch.Fields == nil || slices.Contains(ch.Fields, n)})
		}
		for _, in := range []string{"syncMode", "cursor", "primaryKey", "fields"} {
			if msg, ok := f.Errors[pre+in]; ok {
				v.Errors[in] = msg
			}
		}
		p.Streams = append(p.Streams, v)
		p.Known = append(p.Known, streamKey(st.Descriptor()))
	}
}

// fillSettings copies the form's other inputs onto the page.
func (p *connFormPage) fillSettings(f *connForm, now time.Time) {
	p.Name, p.SourceID, p.DestinationID = f.Name, f.SourceID, f.DestinationID
	p.NSFormat, p.Prefix, p.SocketCount, p.Errors = f.NamespaceFormat, f.Prefix, f.SocketCount, f.Errors
	p.Namespaces = choices(f.NamespaceDefinition, "source", "Source-defined (the source's namespace)",
		"destination", "Destination default", "customformat", "Custom format")
	p.Channels = choices(f.DataChannel, "auto", "Auto: sockets when both connectors support them, else stdio",
		"stdio", "Force stdio")
	sv := scheduleFormView{Type: f.ScheduleType, Interval: f.IntervalValue, Cron: f.Cron, Timezone: f.Timezone,
		Types: choices(f.ScheduleType, "manual", "Manual", "interval", "Every …", "cron", "Cron")}
	for _, u := range intervalUnits {
		sv.Units = append(sv.Units, option{Value: u.name, Label: u.name, Selected: u.name == f.IntervalUnit})
	}
	if f.IntervalUnit == "seconds" {
		sv.Units = append(sv.Units, option{Value: "seconds", Label: "seconds", Selected: true})
	}
	// The preview must not file errors of its own: a copy computes it.
	probe := *f
	probe.Errors = map[string]string{}
	if sc, ok := probe.schedule(); ok {
		sv.Next = nextRuns(sc, now, 3)
	}
	p.Schedule = sv
}

// choices builds options from value, label pairs.
func choices(selected string, pairs ...string) []option {
	var out []option
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, option{Value: pairs[i], Label: pairs[i+1], Selected: pairs[i] == selected})
	}
	return out
}

// nextRuns are a schedule's next n run times after now, through the
// store's Schedule.Next (the scheduler's own computation), each written
// in the schedule's zone and in UTC.
func nextRuns(sc store.Schedule, now time.Time, n int) []string {
	loc := time.UTC
	if sc.Timezone != "" {
		if l, err := time.LoadLocation(sc.Timezone); err == nil {
			loc = l
		}
	}
	var out []string
	t := now
	for range n {
		next, ok := sc.Next(t)
		if !ok {
			break
		}
		s := next.In(loc).Format("Mon 2006-01-02 15:04:05 MST")
		if loc != time.UTC {
			s += " (" + next.UTC().Format("15:04Z") + ")"
		}
		out = append(out, s)
		t = next
	}
	return out
}
