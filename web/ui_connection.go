package web

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// connectionPage is the connection template's data: its settings, its
// streams with their committed state, and its recent jobs.
type connectionPage struct {
	Connection  connectionRow `json:"connection"`
	Namespace   string        `json:"namespace"`
	Prefix      string        `json:"prefix"`
	DataChannel string        `json:"dataChannel"`
	WebhookURL  string        `json:"webhookUrl"`
	Streams     []streamRow   `json:"streams"`
	// StateType is stream, global, legacy or not_set. A global state's
	// shared part and a legacy state's blob are shown apart from the
	// streams.
	StateType   string   `json:"stateType"`
	SharedState string   `json:"sharedState"`
	LegacyState string   `json:"legacyState"`
	Jobs        []jobRow `json:"jobs"`
	MoreJobs    bool     `json:"moreJobs"`
	// Active is the connection's pending or running job: Sync now, Clear
	// and Refresh wait for it and link to it.
	Active *jobRow `json:"active"`
	// Done says what was just saved ("created", "saved").
	Done string `json:"done"`
	// SelectedStreams names the streams a clear empties.
	SelectedStreams string `json:"selectedStreams"`
}

// streamNames lists a connection's streams for the clear's confirmation.
func streamNames(c *store.Connection) string {
	var names []string
	for _, cs := range c.Catalog.Streams {
		names = append(names, cs.Stream.Descriptor().String())
	}
	return strings.Join(names, ", ")
}

// streamRow is one configured stream.
type streamRow struct {
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	SyncMode   string `json:"syncMode"`
	Cursor     string `json:"cursor"`
	PrimaryKey string `json:"primaryKey"`
	Fields     string `json:"fields"`
	State      string `json:"state"`
}

// maxStateText cuts a stream's state on the page; the API has it whole.
const maxStateText = 2000

// handleConnectionPage shows one connection.
func handleConnectionPage(st Store, redactor redactorFunc, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		c, err := st.Connection(ctx, mux.Vars(r)["connectionId"])
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		states, err := st.State(ctx, c.ID)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		jobs, total, err := st.Jobs(ctx, store.JobFilter{ConnectionID: c.ID, Page: store.Page{Limit: 20}})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		// State is the source's cursor data, not config; it is masked by
		// value anyway, in case a source put a credential in it.
		red, err := redactor(ctx, c.ID)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		names := newNameCache(ctx, st)
		page := connectionPage{Connection: newConnectionRow(c, names), Prefix: c.Prefix,
			Namespace: string(c.NamespaceDefinition), WebhookURL: c.WebhookURL, StateType: "not_set",
			DataChannel: "chosen per sync", Streams: []streamRow{}, Jobs: []jobRow{}, MoreJobs: total > len(jobs)}
		if c.NamespaceDefinition == protocol.NamespaceCustomFormat {
			page.Namespace += ": " + c.NamespaceFormat
		}
		switch {
		case c.ForceStdio:
			page.DataChannel = "stdio (forced)"
		case c.SocketCount != nil:
			page.DataChannel = "chosen per sync, " + strconv.Itoa(*c.SocketCount) + " sockets when socket mode"
		}
		streamState := map[protocol.StreamDescriptor]string{}
		for _, s := range states {
			page.StateType = strings.ToLower(string(s.Kind()))
			switch {
			case s.Stream != nil:
				streamState[s.Stream.StreamDescriptor] = stateText(s.Stream.StreamState, red)
			case s.Global != nil:
				page.SharedState = stateText(s.Global.SharedState, red)
				for _, ss := range s.Global.StreamStates {
					streamState[ss.StreamDescriptor] = stateText(ss.StreamState, red)
				}
			default:
				page.LegacyState = stateText(s.Data, red)
			}
		}
		if c.Catalog != nil {
			for _, cs := range c.Catalog.Streams {
				d := cs.Stream.Descriptor()
				row := streamRow{Namespace: d.Namespace, Name: d.Name, State: streamState[d],
					SyncMode: joinSyncMode(cs.SyncMode, cs.DestinationSyncMode), Cursor: strings.Join(cs.CursorField, "."),
					PrimaryKey: keyText(cs.PrimaryKey), Fields: "all"}
				for _, sf := range c.SelectedFields {
					if sf.Stream == d {
						row.Fields = strings.Join(sf.Fields, ", ")
					}
				}
				page.Streams = append(page.Streams, row)
			}
		}
		for _, j := range jobs {
			row := newJobRow(j, names)
			page.Jobs = append(page.Jobs, row)
			if row.Active && page.Active == nil {
				page.Active = &row
			}
		}
		if err := fillReasons(ctx, st, redactor, page.Jobs); err != nil {
			writeError(w, r, log, err)
			return
		}
		page.Done = r.URL.Query().Get("done")
		page.SelectedStreams = streamNames(c)
		renderPage(w, r, log, "connection", view{Title: c.Name, Nav: "connections", Page: page})
	}
}

// stateText is a state blob as compact, masked JSON, cut when long.
func stateText(raw json.RawMessage, red *secret.Redactor) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		b.Reset()
		b.Write(raw)
	}
	s := red.Redact(b.String())
	if len(s) > maxStateText {
		// Cut at a rune boundary, so the page stays valid UTF-8.
		i := maxStateText
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return s
}

// keyText writes a primary key as "id" or "tenant.id, ts".
func keyText(key [][]string) string {
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = strings.Join(k, ".")
	}
	return strings.Join(parts, ", ")
}
