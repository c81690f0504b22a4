package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// actorRow is a source or destination with its configuration as the
// store returns it: every airbyte_secret value is the mask. The page
// never reads ActorConfig, the one method that returns plaintext.
type actorRow struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	DefinitionID string    `json:"definitionId"`
	Definition   string    `json:"definition"`
	Config       string    `json:"config"`
	Created      time.Time `json:"created"`
}

// actorsPage is the actors template's data, for sources and destinations
// alike.
type actorsPage struct {
	Kind   string     `json:"kind"`
	Actors []actorRow `json:"actors"`
	Pager  pager      `json:"pager"`
}

// handleActorsPage lists the sources or the destinations.
func handleActorsPage(st Store, kind store.ActorKind, log *slog.Logger) http.HandlerFunc {
	title, nav := "Sources", "sources"
	if kind == store.KindDestination {
		title, nav = "Destinations", "destinations"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := pageOf(r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		actors, total, err := st.Actors(r.Context(), store.ActorFilter{Kind: kind, Page: p})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		names := newNameCache(r.Context(), st)
		page := actorsPage{Kind: string(kind), Actors: []actorRow{}, Pager: newPager(r, p, total)}
		for _, a := range actors {
			page.Actors = append(page.Actors, actorRow{ID: a.ID, Name: a.Name, DefinitionID: a.DefinitionID,
				Definition: names.definition(a.DefinitionID), Config: indentJSON(a.Config), Created: a.CreatedAt})
		}
		renderPage(w, r, log, "actors", view{Title: title, Nav: nav, Page: page})
	}
}

// indentJSON pretty-prints a JSON document; one that does not parse is
// shown as it is.
func indentJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

// definitionRow is a connector definition as the list shows it.
type definitionRow struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	ShortName  string `json:"shortName"`
	Kind       string `json:"kind"`
	Image      string `json:"image"`
	BinaryPath string `json:"binaryPath"`
	DataChan   string `json:"dataChannel"`
	SpecCached bool   `json:"specCached"`
	Resources  string `json:"resources"`
	// Hardening says how locked down its containers run (hardeningText).
	Hardening string `json:"hardening"`
	// Entrypoint is the connector's command as the page shows it
	// (entrypointText), and EntrypointSource where it came from.
	Entrypoint       string    `json:"entrypoint"`
	EntrypointSource string    `json:"entrypointSource"`
	Created          time.Time `json:"created"`
}

// definitionsPage is the definitions template's data.
type definitionsPage struct {
	Definitions []definitionRow `json:"definitions"`
	Pager       pager           `json:"pager"`
}

// handleDefinitionsPage lists the connector definitions.
func handleDefinitionsPage(st Store, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := pageOf(r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		defs, total, err := st.Definitions(r.Context(), store.DefinitionFilter{Page: p})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		page := definitionsPage{Definitions: []definitionRow{}, Pager: newPager(r, p, total)}
		for _, d := range defs {
			page.Definitions = append(page.Definitions, newDefinitionRow(d))
		}
		renderPage(w, r, log, "definitions", view{Title: "Definitions", Nav: "definitions", Page: page})
	}
}

// dataChannelText describes a definition's IPC options: "STDIO, JSONL
// (legacy)" without them.
func dataChannelText(o *protocol.IPCOptions) string {
	if o == nil {
		return "STDIO, JSONL (legacy)"
	}
	dc := o.DataChannel
	return fmt.Sprintf("%s; %s (v%s)", strings.Join(dc.SupportedTransport, ", "),
		strings.Join(dc.SupportedSerialization, ", "), dc.Version)
}

// resourcesText describes a definition's limits.
func resourcesText(r store.Resources) string {
	var parts []string
	if r.CPUs > 0 {
		parts = append(parts, fmt.Sprintf("%g CPU", r.CPUs))
	}
	if r.MemoryBytes > 0 {
		parts = append(parts, byteSize(r.MemoryBytes))
	}
	if len(parts) == 0 {
		return "default"
	}
	return strings.Join(parts, ", ")
}
