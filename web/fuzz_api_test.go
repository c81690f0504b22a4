package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/store"
)

// fuzzBodyLimit is the request body cap of the fuzzed server: small, so
// that bodies over the limit are cheap to make.
const fuzzBodyLimit = 8 << 10

// writeRoute is one POST, PUT or PATCH route, its path filled with ids of
// objects that exist, so that requests reach the handlers' validation.
type writeRoute struct{ method, path string }

// fuzzTarget is the server under fuzz and a read-only view of its store.
type fuzzTarget struct {
	e      *testEnv
	routes []writeRoute
	db     *sql.DB
	client *http.Client
	// last is the store's snapshot after the previous request: nothing
	// else writes to it, so it is the next request's "before".
	last string
}

// newFuzzTarget starts a server on a real store with a source, a
// destination and a connection, and lists its write routes.
func newFuzzTarget(tb testing.TB) *fuzzTarget {
	tb.Helper()
	dir := tb.TempDir()
	key, err := store.LoadOrCreateKey(dir)
	if err != nil {
		tb.Fatal(err)
	}
	db, err := store.Open(context.Background(), filepath.Join(dir, "ferry.db"), store.WithKey(key))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	e := &testEnv{dir: dir, db: db, jobs: &fakeJobs{db: db}, conns: &fakeConnectors{}, log: &syncBuffer{}}
	srv, err := New(Config{Addr: "127.0.0.1:0", Token: testToken, Store: db, Jobs: e.jobs, Connectors: e.conns,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LogPollInterval: 20 * time.Millisecond, MaxBodyBytes: fuzzBodyLimit})
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	e.srv, e.url = srv, srv.URL()
	ids := fuzzFixture(tb, e)
	ro, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "ferry.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ro.Close() })
	ft := &fuzzTarget{e: e, db: ro, client: &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	err = srv.router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err1 := r.GetPathTemplate()
		methods, err2 := r.GetMethods()
		if err1 != nil || err2 != nil {
			return nil
		}
		for _, m := range methods {
			if m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch {
				ft.routes = append(ft.routes, writeRoute{m, fillVars(tmpl, ids)})
			}
		}
		return nil
	})
	if err != nil || len(ft.routes) < 20 {
		tb.Fatalf("walk: %v; %d write routes", err, len(ft.routes))
	}
	return ft
}

// fuzzFixture makes the objects the routes' ids name, through the API.
func fuzzFixture(tb testing.TB, e *testEnv) map[string]string {
	tb.Helper()
	ids := map[string]string{"jobId": "1", "attemptNumber": "1", "workspaceId": ""}
	var d definitionJSON
	e.do(tb, "POST", "/api/v1/definitions", map[string]any{"name": "source-test", "kind": "source", "image": "ferry/source-test:dev"}, 201, &d)
	ids["definitionId"] = d.DefinitionID
	var dd definitionJSON
	e.do(tb, "POST", "/api/v1/definitions", map[string]any{"name": "destination-test", "kind": "destination", "image": "ferry/destination-test:dev"}, 201, &dd)
	var a actorJSON
	e.do(tb, "POST", "/api/v1/sources", map[string]any{"name": "src", "definitionId": d.DefinitionID, "configuration": srcConfig()}, 201, &a)
	ids["sourceId"], ids["workspaceId"] = a.SourceID, a.WorkspaceID
	e.do(tb, "POST", "/api/v1/destinations", map[string]any{"name": "dst", "definitionId": dd.DefinitionID, "configuration": dstConfig()}, 201, &a)
	ids["destinationId"] = a.DestinationID
	var c connectionJSON
	e.do(tb, "POST", "/api/v1/connections", map[string]any{"sourceId": ids["sourceId"], "destinationId": ids["destinationId"]}, 201, &c)
	ids["connectionId"] = c.ConnectionID
	var j jobJSON
	e.do(tb, "POST", "/api/v1/jobs", map[string]any{"connectionId": c.ConnectionID}, 201, &j)
	ids["jobId"] = fmt.Sprint(j.JobID)
	return ids
}

// fillVars puts an id of the right kind into each {variable} of a path.
func fillVars(tmpl string, ids map[string]string) string {
	return routeVar.ReplaceAllStringFunc(tmpl, func(v string) string {
		name := strings.Trim(strings.SplitN(v, ":", 2)[0], "{}")
		for k, id := range ids {
			if strings.EqualFold(k, name) {
				return id
			}
		}
		if strings.HasSuffix(strings.ToLower(name), "id") && ids["definitionId"] != "" {
			return ids["definitionId"]
		}
		return "1"
	})
}

// snapshot hashes every row of every table, so that two snapshots differ
// exactly when the store changed.
func (ft *fuzzTarget) snapshot(t testing.TB) string {
	t.Helper()
	rows, err := ft.db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	h := sha256.New()
	for _, tab := range tables {
		rs, err := ft.db.Query(`SELECT * FROM "` + tab + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		var lines []string
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rs.Scan(ptrs...)
			lines = append(lines, fmt.Sprintf("%v", vals))
		}
		rs.Close()
		slices.Sort(lines)
		fmt.Fprintf(h, "%s\n%s\n", tab, strings.Join(lines, "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// contentTypes are what the fuzz can declare its body as.
var contentTypes = []string{"application/json", "application/x-www-form-urlencoded", "text/plain", "", "application/json; charset=utf-16"}

// check sends one fuzzed request and fails on a 5xx, or on a 4xx that
// changed the store.
func (ft *fuzzTarget) check(t *testing.T, route uint16, query string, body []byte, ct uint8) {
	r := ft.routes[int(route)%len(ft.routes)]
	u := ft.e.url + r.path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(r.method, u, bytes.NewReader(body))
	if err != nil {
		return // not a URL a client can send
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if c := contentTypes[int(ct)%len(contentTypes)]; c != "" {
		req.Header.Set("Content-Type", c)
	}
	before := ft.last
	if before == "" {
		before = ft.snapshot(t)
	}
	resp, err := ft.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, u, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// 501 is the documented answer for what Ferry lacks (Airbyte's public
	// API has it); it must change nothing, like a 4xx.
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("%s %s with %q: %d %s", r.method, u, body, resp.StatusCode, b)
	}
	after := ft.snapshot(t)
	ft.last = after
	if resp.StatusCode >= 400 && after != before {
		t.Fatalf("%s %s with %q: %d, but the store changed; body %s", r.method, u, body, resp.StatusCode, b)
	}
}

// FuzzAPIWrites is scenario 11: every POST, PUT and PATCH route gets
// malformed JSON, wrong types, bodies over the limit, unicode and NUL,
// huge and negative limits and offsets, unknown query parameters and
// SQL-like strings. No answer may be a 5xx (or a crash), and a 4xx must
// leave the store as it was. The seeds here and in testdata/fuzz run in
// every `go test`; `go test -fuzz FuzzAPIWrites ./web` explores further.
func FuzzAPIWrites(f *testing.F) {
	big := bytes.Repeat([]byte(`{"name":"`+strings.Repeat("x", 64)+`"},`), fuzzBodyLimit/64)
	seeds := []struct {
		query string
		body  string
	}{
		{"", `{`}, {"", `{"name": 1, "sourceId": [], "schedule": "x"}`}, {"", `null`}, {"", `[]`}, {"", `"str"`},
		{"limit=-1&offset=-5", `{}`}, {"limit=99999999999999999999&offset=1e300", `{"limit": -1}`},
		{"unknown=1&;drop=1", `{"name":"a' OR '1'='1","configuration":{"x":"'); DROP TABLE jobs;--"}}`},
		{"", "{\"name\":\"nul\x00byte\",\"configuration\":{\"\x00\":\"\\u0000\"}}"},
		{"", `{"name":"ünïcödé 😀 \ud800","configuration":{"k":"\udfff"}}`},
		{"", string(big)}, {"", `{"schedule":{"scheduleType":"cron","cronExpression":"* * 31 2 *"}}`},
		{"", `{"schedule":{"scheduleType":"basic","intervalSeconds":9223372036854775807}}`},
		{"", `{"jobType":"sync","connectionId":"` + strings.Repeat("9", 40) + `"}`},
		{"", `{"networkMode":"host","timeouts":{"destinationWrite":"-1s"}}`},
		{"", `{"configurations":{"streams":[{"name":null,"syncMode":"bogus","cursorField":[1]}]}}`},
		{"token=%zz", "token=" + strings.Repeat("a", 100) + "&next=//evil.example"},
		{"", `{"client_id":"x","client_secret":1,"grant-type":"client_credentials"}`},
	}
	ft := newFuzzTarget(f)
	// Each route gets every third seed, in turn, so that each seed meets a
	// third of the routes: every kind of bad input reaches every handler
	// family, at a third of the cost of the full product (which runs in
	// about a minute under -race on a loaded 2-core machine).
	for r := range ft.routes {
		for i, s := range seeds {
			if (r+i)%3 == 0 {
				f.Add(uint16(r), s.query, []byte(s.body), uint8(i))
			}
		}
	}
	f.Fuzz(func(t *testing.T, route uint16, query string, body []byte, ct uint8) {
		ft.check(t, route, query, body, ct)
	})
}
