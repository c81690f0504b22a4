package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// builderCatalog is what the builder tests' source discovers: orders
// (both read modes, no cursor or key of its own), users (the source
// defines both) and events (full refresh only).
func builderCatalog() *protocol.Catalog {
	return &protocol.Catalog{Streams: []protocol.Stream{
		{Name: "orders", JSONSchema: json.RawMessage(`{"type":"object","properties":{"id":{},"updated_at":{},"total":{}}}`),
			SupportedSyncModes: []string{"full_refresh", "incremental"}},
		{Name: "users", JSONSchema: json.RawMessage(`{"type":"object","properties":{"id":{},"updated_at":{},"name":{}}}`),
			SupportedSyncModes: []string{"full_refresh", "incremental"}, SourceDefinedCursor: true,
			DefaultCursorField: []string{"updated_at"}, SourceDefinedPrimaryKey: [][]string{{"id"}}},
		{Name: "events", JSONSchema: json.RawMessage(`{"type":"object","properties":{"id":{},"at":{}}}`),
			SupportedSyncModes: []string{"full_refresh"}},
	}}
}

// allWritesSpec is a destination spec that declares every write mode.
const allWritesSpec = `{"supported_destination_sync_modes":["overwrite","append","append_dedup","overwrite_dedup","update","soft_delete"],
 "connectionSpecification":{"type":"object","properties":{"destination_path":{"type":"string"}}}}`

// builderEnv is a test server whose source discovers builderCatalog and
// whose destination writes every mode, signed in.
type builderEnv struct {
	*testEnv
	f      fixture
	cookie *http.Cookie
	csrf   string
}

func newBuilderEnv(t *testing.T) *builderEnv {
	e := newEnv(t)
	e.conns.DiscoverFn = func(json.RawMessage) (*protocol.Catalog, error) { return builderCatalog(), nil }
	e.conns.SpecFn = func(def *store.Definition) (*SpecResult, error) {
		spec := srcSpec
		if def.Kind == store.KindDestination {
			spec = allWritesSpec
		}
		return &SpecResult{Spec: json.RawMessage(spec), ImageID: "sha256:x"}, nil
	}
	f := e.fixture()
	cookie, csrf := e.login(t)
	return &builderEnv{testEnv: e, f: f, cookie: cookie, csrf: csrf}
}

// form is a builder form selecting orders (incremental append on
// updated_at) and users, daily by Unix cron; set overrides inputs.
func (b *builderEnv) form(set ...string) url.Values {
	v := url.Values{"csrf": {b.csrf}, "_action": {"save"}, "sourceId": {b.f.src}, "destinationId": {b.f.dst},
		"name": {"built"}, "namespaceDefinition": {"destination"}, "schedule.type": {"cron"},
		"schedule.cron": {"0 2 * * *"}, "schedule.timezone": {"UTC"}, "dataChannel": {"auto"},
		"streams.0.name": {"orders"}, "streams.0.selected": {"on"}, "streams.0.syncMode": {"incremental_append"},
		"streams.0.cursor": {"updated_at"},
		"streams.1.name":   {"users"}, "streams.1.selected": {"on"}, "streams.1.syncMode": {"incremental_deduped_history"},
		"streams.2.name": {"events"}, "streams.2.syncMode": {"full_refresh_overwrite"}}
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] == "" {
			v.Del(set[i])
		} else {
			v[set[i]] = strings.Split(set[i+1], "|")
		}
	}
	return v
}

// create posts the form to /connections/new and returns the stored
// connection; it fails the test unless the post redirects to it.
func (b *builderEnv) create(t *testing.T, form url.Values) *store.Connection {
	t.Helper()
	resp, body := b.page(t, "POST", "/connections/new", b.cookie, form)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "?done=created") {
		t.Fatalf("create: got %d to %q, want 303 to the new connection\n%s", resp.StatusCode, loc, body)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/connections/"), "?done=created")
	c, err := b.db.Connection(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// inputBlock is the markup from the element with the given id to where
// the next field starts: where the element's error must be.
func inputBlock(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no input %s in the page\n%s", id, body)
	}
	rest := body[i:]
	for _, end := range []string{`<div class="field`, "</fieldset>", "<details", "<h2>"} {
		if j := strings.Index(rest, end); j >= 0 {
			rest = rest[:j]
		}
	}
	return rest
}

// TestBuilderPicksAndDiscovers verifies the new-connection page: the two
// ends to pick, then the discovered streams with only the sync modes each
// stream and the destination support under Airbyte's names, the source's
// own cursor and key shown fixed, and a discover failure shown with its
// cause, masked.
func TestBuilderPicksAndDiscovers(t *testing.T) {
	b := newBuilderEnv(t)
	_, body := b.page(t, "GET", "/connections/new", b.cookie, nil)
	for _, want := range []string{`<option value="` + b.f.src + `">src</option>`, `<option value="` + b.f.dst + `">dst</option>`, `id="pick-ends"`} {
		if !strings.Contains(body, want) {
			t.Errorf("pick page: want %q\n%s", want, body)
		}
	}
	if strings.Contains(body, `id="connection-form"`) {
		t.Errorf("pick page: the streams form shows before both ends are chosen")
	}
	_, body = b.page(t, "GET", "/connections/new?sourceId="+b.f.src+"&destinationId="+b.f.dst, b.cookie, nil)
	orders := inputBlock(t, body, "f-streams.0.syncMode")
	for _, want := range []string{"Full refresh | Overwrite (full_refresh_overwrite)", "Incremental | Append &#43; Deduped (incremental_deduped_history)",
		"Incremental | Soft delete (incremental_soft_delete)", "Full refresh | Update (full_refresh_update)"} {
		if !strings.Contains(orders, want) {
			t.Errorf("orders: want the mode %q\n%s", want, orders)
		}
	}
	if events := inputBlock(t, body, "f-streams.2.syncMode"); strings.Contains(events, "incremental") {
		t.Errorf("events reads only full refresh, but incremental modes are offered\n%s", events)
	}
	if users := inputBlock(t, body, "f-streams.1.cursor"); !strings.Contains(users, "updated_at <span class=\"muted\">(source-defined)") {
		t.Errorf("users: want its source-defined cursor shown fixed\n%s", users)
	}
	if !strings.Contains(body, `id (source-defined)`) && !strings.Contains(body, `id <span class="muted">(source-defined)`) {
		t.Errorf("users: want its source-defined primary key shown")
	}
	if cursors := inputBlock(t, body, "f-streams.0.cursor"); !strings.Contains(cursors, `<option value="total">total</option>`) {
		t.Errorf("orders: want its top-level fields offered as cursors\n%s", cursors)
	}

	// A destination that declares only append narrows every stream's modes.
	b.conns.SpecFn = nil
	dstDef := b.createDefinition("destination", "destination-append")
	var a actorJSON
	b.do(t, "POST", "/api/v1/destinations", map[string]any{"name": "appender", "definitionId": dstDef,
		"configuration": dstConfig()}, 201, &a)
	b.conns.SpecFn = func(def *store.Definition) (*SpecResult, error) {
		return &SpecResult{Spec: json.RawMessage(`{"supported_destination_sync_modes":["append"],"connectionSpecification":{"type":"object"}}`)}, nil
	}
	if _, err := b.db.Definition(t.Context(), dstDef); err != nil {
		t.Fatal(err)
	}

	b.conns.DiscoverFn = func(json.RawMessage) (*protocol.Catalog, error) {
		return nil, errors.New("cannot reach db.example with password " + srcPassword + ": connection refused")
	}
	_, body = b.page(t, "GET", "/connections/new?refresh=1&sourceId="+b.f.src+"&destinationId="+b.f.dst, b.cookie, nil)
	if !strings.Contains(body, `id="discover-error"`) || !strings.Contains(body, "connection refused") ||
		!strings.Contains(body, `id="refresh-schema"`) {
		t.Errorf("a failing discover: want its cause and the refresh button\n%s", body)
	}
	checkNoSecrets(t, "discover failure", body)
	b.srv.streams.forget(b.f.src) // the failure is not cached; the good catalog before it is
	resp, body := b.page(t, "POST", "/connections/new", b.cookie, b.form())
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "cannot be saved") {
		t.Errorf("saving without streams: got %d, want 400 saying why\n%s", resp.StatusCode, body)
	}
}

// TestBuilderEverySyncMode creates a connection in each of Airbyte's nine
// sync modes and checks the protocol pair stored for it.
func TestBuilderEverySyncMode(t *testing.T) {
	b := newBuilderEnv(t)
	for _, m := range syncModes {
		t.Run(m.name, func(t *testing.T) {
			c := b.create(t, b.form("streams.0.syncMode", m.name, "streams.0.primaryKey", "id", "streams.1.selected", ""))
			if len(c.Catalog.Streams) != 1 {
				t.Fatalf("got %d streams, want orders alone", len(c.Catalog.Streams))
			}
			cs := c.Catalog.Streams[0]
			if cs.SyncMode != m.mode || cs.DestinationSyncMode != m.dest {
				t.Errorf("got %s/%s, want %s/%s", cs.SyncMode, cs.DestinationSyncMode, m.mode, m.dest)
			}
			wantCursor := ""
			if m.mode == protocol.SyncIncremental {
				wantCursor = "updated_at"
			}
			if got := strings.Join(cs.CursorField, "."); got != wantCursor {
				t.Errorf("cursor: got %q, want %q", got, wantCursor)
			}
		})
	}
}

// TestBuilderCursorKeyAndFields stores a chosen cursor, a composite key
// and a field selection, and keeps the source's own cursor and key where
// it defines them, whatever is posted.
func TestBuilderCursorKeyAndFields(t *testing.T) {
	b := newBuilderEnv(t)
	c := b.create(t, b.form("streams.0.syncMode", "incremental_deduped_history", "streams.0.cursor", "total",
		"streams.0.primaryKey", "id|updated_at", "streams.0.fieldsShown", "on", "streams.0.fields", "id|total|updated_at",
		"streams.1.cursor", "name", "streams.1.primaryKey", "name", "streams.1.fieldsShown", "on", "streams.1.fields", "id|updated_at",
		"streams.2.selected", "on", "streams.2.fieldsShown", "on", "streams.2.fields", "id|at"))
	if len(c.Catalog.Streams) != 3 {
		t.Fatalf("got %d streams, want 3", len(c.Catalog.Streams))
	}
	orders, users, events := c.Catalog.Streams[0], c.Catalog.Streams[1], c.Catalog.Streams[2]
	if strings.Join(orders.CursorField, ".") != "total" || keyText(orders.PrimaryKey) != "id, updated_at" {
		t.Errorf("orders: got cursor %v key %v, want total and id, updated_at", orders.CursorField, orders.PrimaryKey)
	}
	if strings.Join(users.CursorField, ".") != "updated_at" || keyText(users.PrimaryKey) != "id" {
		t.Errorf("users: got cursor %v key %v, want the source's updated_at and id", users.CursorField, users.PrimaryKey)
	}
	if events.SyncMode != protocol.SyncFullRefresh || len(events.CursorField) != 0 {
		t.Errorf("events: got %s with cursor %v, want full refresh without one", events.SyncMode, events.CursorField)
	}
	// All of events' fields selected is no selection; users keeps two.
	if len(c.SelectedFields) != 1 || c.SelectedFields[0].Stream.Name != "users" ||
		strings.Join(c.SelectedFields[0].Fields, ",") != "id,updated_at" {
		t.Errorf("selected fields: got %+v, want users: id, updated_at alone", c.SelectedFields)
	}
	_, body := b.page(t, "GET", "/connections/"+c.ID, b.cookie, nil)
	for _, want := range []string{"incremental_deduped_history", "id, updated_at", "id, updated_at</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("connection page: want %q\n%s", want, body)
		}
	}
}

// TestBuilderSchedules stores both cron forms with a zone and an
// interval, shows the next three runs before saving, and answers the
// script's preview.
func TestBuilderSchedules(t *testing.T) {
	b := newBuilderEnv(t)
	for _, tc := range []struct {
		name string
		set  []string
		want store.Schedule
	}{
		{"unix cron", []string{"schedule.cron", "30 2 * * 1-5", "schedule.timezone", "Europe/Paris"},
			store.Schedule{Type: store.ScheduleCron, Cron: "30 2 * * 1-5", Timezone: "Europe/Paris", MissedRuns: store.MissedSkip}},
		{"quartz cron", []string{"schedule.cron", "0 0/15 8-17 ? * MON-FRI", "schedule.timezone", "America/New_York"},
			store.Schedule{Type: store.ScheduleCron, Cron: "0 0/15 8-17 ? * MON-FRI", Timezone: "America/New_York", MissedRuns: store.MissedSkip}},
		{"interval", []string{"schedule.type", "interval", "schedule.interval", "6", "schedule.unit", "hours", "schedule.cron", ""},
			store.Schedule{Type: store.ScheduleInterval, IntervalSeconds: 6 * 3600, MissedRuns: store.MissedSkip}},
		{"manual", []string{"schedule.type", "manual", "schedule.cron", ""},
			store.Schedule{Type: store.ScheduleManual, MissedRuns: store.MissedSkip}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := b.form(tc.set...)
			form.Set("_action", "preview")
			resp, body := b.page(t, "POST", "/connections/new", b.cookie, form)
			runs := inputBlock(t, body, "next-runs")
			if resp.StatusCode != 200 || (tc.want.Type != store.ScheduleManual && strings.Count(runs, "<li>") != 3) {
				t.Errorf("preview: got %d, want the next three runs\n%s", resp.StatusCode, runs)
			}
			c := b.create(t, b.form(tc.set...))
			if c.Schedule != tc.want {
				t.Errorf("got %+v, want %+v", c.Schedule, tc.want)
			}
			if edit := inputBlock(t, b.pageBody(t, "/connections/"+c.ID+"/edit"), "next-runs"); tc.want.Type != store.ScheduleManual &&
				strings.Count(edit, "<li>") != 3 {
				t.Errorf("edit page: want the next three runs\n%s", edit)
			}
		})
	}
	var p previewJSON
	b.do(t, "GET", "/connections/schedule-preview?type=cron&cron=0+0+12+*+*+%3F&timezone=Asia/Tokyo", nil, 200, &p)
	if len(p.Next) != 3 || !strings.Contains(p.Next[0], "12:00:00 JST (03:00Z)") {
		t.Errorf("preview of a Quartz noon in Tokyo: got %+v", p)
	}
	b.do(t, "GET", "/connections/schedule-preview?type=cron&cron=61+*+*+*+*", nil, 200, &p)
	if len(p.Next) != 0 || p.Error["schedule.cron"] == "" {
		t.Errorf("preview of a bad minute: got %+v, want the cron input's error", p)
	}
}

func (b *builderEnv) pageBody(t *testing.T, path string) string {
	t.Helper()
	resp, body := b.page(t, "GET", path, b.cookie, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: got %d\n%s", path, resp.StatusCode, body)
	}
	return body
}

// TestBuilderErrorsNextToFields posts wrong choices and finds each error
// inside the field of the input it is about, with nothing stored.
func TestBuilderErrorsNextToFields(t *testing.T) {
	b := newBuilderEnv(t)
	for _, tc := range []struct {
		name, field, want string
		set               []string
	}{
		{"incremental without a cursor", "f-streams.0.cursor", "needs a cursor", []string{"streams.0.cursor", ""}},
		{"a cursor that is no field", "f-streams.0.cursor", "not a top-level field", []string{"streams.0.cursor", "nope"}},
		{"deduped without a key", "f-streams.0.primaryKey", "needs a primary key", []string{"streams.0.syncMode", "full_refresh_overwrite_deduped"}},
		{"a mode the stream cannot read", "f-streams.2.syncMode", "choose one of full_refresh_overwrite", []string{"streams.2.selected", "on", "streams.2.syncMode", "incremental_append"}},
		{"the cursor left out of the fields", "f-streams.0.fields", "must stay selected (updated_at)", []string{"streams.0.fieldsShown", "on", "streams.0.fields", "id|total"}},
		{"a bad Unix cron", "f-schedule.cron", "got 4 fields", []string{"schedule.cron", "0 2 * *"}},
		{"a bad Quartz cron", "f-schedule.cron", "0 0 2 31 2 ?", []string{"schedule.cron", "0 0 2 31 2 ?"}},
		{"an unknown zone", "f-schedule.timezone", "unknown time zone", []string{"schedule.timezone", "Mars/Olympus"}},
		{"a zero interval", "f-schedule.interval", "1 or more", []string{"schedule.type", "interval", "schedule.interval", "0"}},
		{"custom namespace without a format", "f-namespaceFormat", "is required", []string{"namespaceDefinition", "customformat"}},
		{"too many sockets", "f-socketCount", "from 1 to 64", []string{"socketCount", "99"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := b.page(t, "POST", "/connections/new", b.cookie, b.form(tc.set...))
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("got %d, want 400", resp.StatusCode)
			}
			block := inputBlock(t, body, tc.field)
			if !strings.Contains(block, `class="error field-error"`) || !strings.Contains(block, tc.want) {
				t.Errorf("want %q next to %s\n%s", tc.want, tc.field, block)
			}
			if !strings.Contains(body, `id="form-error"`) {
				t.Errorf("want the summary at the top of the form")
			}
		})
	}
	resp, body := b.page(t, "POST", "/connections/new", b.cookie, b.form("streams.0.selected", "", "streams.1.selected", ""))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="streams-error"`) {
		t.Errorf("no stream selected: got %d, want the streams' error\n%s", resp.StatusCode, body)
	}
	if _, n, _ := b.db.Connections(t.Context(), store.ConnectionFilter{}); n != 1 {
		t.Errorf("got %d connections, want the fixture's alone", n)
	}
}

// TestBuilderEditAndSchemaDiff edits a connection after the source's
// schema changed: the edit page shows the removed stream and the changed
// fields, a refresh shows the new stream too, and saving stores the new
// choices over the new catalog, with the data channel settings.
func TestBuilderEditAndSchemaDiff(t *testing.T) {
	b := newBuilderEnv(t)
	c := b.create(t, b.form("streams.2.selected", "on"))
	changed := builderCatalog()
	changed.Streams[0].JSONSchema = json.RawMessage(`{"type":"object","properties":{"id":{},"updated_at":{},"total":{},"currency":{}}}`)
	changed.Streams = append(changed.Streams[:2], protocol.Stream{Name: "refunds",
		JSONSchema: json.RawMessage(`{"type":"object","properties":{"id":{}}}`), SupportedSyncModes: []string{"full_refresh"}})
	b.conns.DiscoverFn = func(json.RawMessage) (*protocol.Catalog, error) { return changed, nil }

	body := b.pageBody(t, "/connections/"+c.ID+"/edit?refresh=1")
	diff := inputBlock(t, body, "schema-diff")
	if !strings.Contains(diff, "Removed stream: events") || !strings.Contains(diff, "orders: fields added: currency") {
		t.Errorf("edit: want events removed and orders' new field\n%s", diff)
	}
	if strings.Contains(diff, "New stream: refunds") {
		t.Errorf("edit without a refresh of the form: refunds cannot be told from an unselected stream\n%s", diff)
	}
	// The form as it was shown before the refresh knew the old streams.
	form := b.form("_action", "refresh", "known", `["","orders"]|["","users"]|["","events"]`, "streams.2.name", "")
	resp, body := b.page(t, "POST", "/connections/"+c.ID+"/edit", b.cookie, form)
	if diff := inputBlock(t, body, "schema-diff"); resp.StatusCode != 200 || !strings.Contains(diff, "New stream: refunds (not selected)") {
		t.Errorf("refresh: got %d, want refunds as new\n%s", resp.StatusCode, diff)
	}
	if c2, _ := b.db.Connection(t.Context(), c.ID); len(c2.Catalog.Streams) != 3 {
		t.Errorf("a refresh stored something: %d streams", len(c2.Catalog.Streams))
	}

	resp, _ = b.page(t, "POST", "/connections/"+c.ID+"/edit", b.cookie, b.form("name", "renamed", "streams.2.name", "refunds",
		"streams.2.selected", "on", "dataChannel", "stdio", "socketCount", "4", "prefix", "raw_", "namespaceDefinition", "customformat",
		"namespaceFormat", "ferry_${SOURCE_NAMESPACE}"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: got %d, want 303", resp.StatusCode)
	}
	c2, err := b.db.Connection(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cs := range c2.Catalog.Streams {
		names = append(names, cs.Stream.Name)
	}
	if strings.Join(names, ",") != "orders,users,refunds" || c2.Name != "renamed" || !c2.ForceStdio ||
		c2.SocketCount == nil || *c2.SocketCount != 4 || c2.Prefix != "raw_" || c2.NamespaceFormat != "ferry_${SOURCE_NAMESPACE}" {
		t.Errorf("saved: got streams %v name %q stdio %v sockets %v prefix %q format %q", names, c2.Name, c2.ForceStdio,
			c2.SocketCount, c2.Prefix, c2.NamespaceFormat)
	}
	if !strings.Contains(string(c2.Catalog.Streams[0].Stream.JSONSchema), "currency") {
		t.Errorf("orders kept its old schema: %s", c2.Catalog.Streams[0].Stream.JSONSchema)
	}
	form = b.form()
	form.Set("_action", "save")
	body = b.pageBody(t, "/connections/"+c.ID+"/edit")
	for _, want := range []string{`value="renamed"`, `name="dataChannel" value="stdio" checked`, `value="4"`, `value="raw_"`} {
		if !strings.Contains(body, want) {
			t.Errorf("edit page after save: want %q", want)
		}
	}
}
