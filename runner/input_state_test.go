package runner

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// modeCatalog configures users and orders with the given sync modes.
func modeCatalog(users, orders string) *protocol.ConfiguredCatalog {
	c := testCatalog("users", "orders")
	for i, m := range []string{users, orders} {
		c.Streams[i].SyncMode = m
		if m == protocol.SyncFullRefresh {
			c.Streams[i].CursorField, c.Streams[i].DestinationSyncMode = nil, protocol.DestOverwrite
		}
	}
	return c
}

func parseStates(t *testing.T, file string) []*protocol.State {
	t.Helper()
	states, err := protocol.ParseStateFile([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	return states
}

// TestSourceInputState: a source receives state only for its incremental
// streams; a LEGACY blob, which cannot be split, only when at least one
// stream is incremental.
func TestSourceInputState(t *testing.T) {
	const (
		streamStates = `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"c":1}}},` +
			`{"type":"STREAM","stream":{"stream_descriptor":{"name":"orders"},"stream_state":{"c":2}}},` +
			`{"type":"STREAM","stream":{"stream_descriptor":{"name":"gone"},"stream_state":{"c":3}}}]`
		global = `[{"type":"GLOBAL","global":{"shared_state":{"lsn":7},"stream_states":[` +
			`{"stream_descriptor":{"name":"users"},"stream_state":{"c":1}},{"stream_descriptor":{"name":"orders"},"stream_state":{"c":2}}]}}]`
		legacy = `{"users":{"c":1},"orders":{"c":2}}`
	)
	inc, full := protocol.SyncIncremental, protocol.SyncFullRefresh
	for _, tc := range []struct {
		name          string
		state         string
		users, orders string
		want          string // the --state file, "" for none
		withheld      int
	}{
		{"stream: all incremental", streamStates, inc, inc,
			`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"c":1}}},{"type":"STREAM","stream":{"stream_descriptor":{"name":"orders"},"stream_state":{"c":2}}}]`, 1},
		{"stream: one full refresh", streamStates, inc, full,
			`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"c":1}}}]`, 2},
		{"stream: all full refresh", streamStates, full, full, "", 3},
		{"global: one full refresh", global, full, inc,
			`[{"type":"GLOBAL","global":{"shared_state":{"lsn":7},"stream_states":[{"stream_descriptor":{"name":"orders"},"stream_state":{"c":2}}]}}]`, 1},
		{"global: all full refresh", global, full, full, "", 1},
		{"legacy: one incremental", legacy, full, inc, legacy, 0},
		{"legacy: all full refresh", legacy, full, full, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := parseStates(t, tc.state)
			before, _ := json.Marshal(input)
			kept, withheld := sourceInputState(modeCatalog(tc.users, tc.orders), input)
			file, err := protocol.StateFile(kept)
			if err != nil {
				t.Fatal(err)
			}
			if string(file) != tc.want {
				t.Errorf("state file: got %s, want %s", file, tc.want)
			}
			if len(withheld) != tc.withheld {
				t.Errorf("withheld %q, want %d entries", withheld, tc.withheld)
			}
			if after, _ := json.Marshal(input); string(after) != string(before) {
				t.Errorf("the committed state was modified: %s, was %s", after, before)
			}
		})
	}
}

// TestFullRefreshSourceGetsNoState: a Sync whose streams are all full
// refresh gives the source no --state at all, says so in the log, and
// keeps the committed LEGACY state until the source emits a new one.
func TestFullRefreshSourceGetsNoState(t *testing.T) {
	log := &syncBuffer{}
	cp := &memCheckpointer{}
	cfg := baseConfig(cp, log, "users", "orders")
	cfg.Catalog = modeCatalog(protocol.SyncFullRefresh, protocol.SyncFullRefresh)
	cfg.State = parseStates(t, `{"users":{"c":1},"orders":{"c":2}}`)
	rt := &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1), `{"type":"STATE","state":{"data":{"users":{"c":9}}}}`),
		Destination: (&destRecorder{}).run}
	if _, err := Sync(context.Background(), rt, cfg); err != nil {
		t.Fatal(err)
	}
	src := rt.spec(RoleSource)
	if _, ok := src.Files[SourceStatePath]; ok || strings.Contains(strings.Join(src.Args, " "), "--state") {
		t.Errorf("source args %q, files %v: want no --state", src.Args, src.Files[SourceStatePath])
	}
	if !strings.Contains(log.String(), "not given to the source: the LEGACY state") {
		t.Errorf("the log does not say the state was withheld:\n%s", log)
	}
	if got := stateJSON(t, cp.last()); got != `[{"data":{"users":{"c":9}}}]` {
		t.Errorf("committed %s, want the source's new LEGACY state", got)
	}
}
