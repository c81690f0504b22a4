package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// TestIdenticalStateWarning: the same state twice in a row is reported
// only with records in between that the state could resume (its own
// stream's for STREAM, any stream's for GLOBAL and LEGACY, and only of
// incremental streams), named by its kind, and once per scope. A source
// restating its last checkpoint at the end is not reported.
func TestIdenticalStateWarning(t *testing.T) {
	const (
		legacy1 = `{"type":"STATE","state":{"data":{"users":{"cursor":1}}}}`
		global1 = `{"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{"lsn":1},"stream_states":[{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":1}}]}}}`
	)
	inc, full := protocol.SyncIncremental, protocol.SyncFullRefresh
	for _, tc := range []struct {
		name          string
		users, orders string
		lines         []string
		want          string // a substring of the one warning, "" for none
	}{
		{"legacy repeated at the end", inc, inc,
			[]string{recordLine("users", 1), legacy1, legacy1}, ""},
		{"legacy with records in between", inc, inc,
			[]string{recordLine("users", 1), legacy1, recordLine("users", 2), legacy1},
			"the same LEGACY state twice in a row, with 1 records of incremental streams in between"},
		{"legacy with full refresh records in between", inc, full,
			[]string{recordLine("users", 1), legacy1, recordLine("orders", 1), recordLine("orders", 2), legacy1}, ""},
		{"global with records in between", inc, inc,
			[]string{recordLine("users", 1), global1, recordLine("orders", 1), global1}, "the same GLOBAL state twice in a row"},
		{"stream with its records in between", inc, inc,
			[]string{recordLine("users", 1), streamStateLine("users", 1), recordLine("users", 2), streamStateLine("users", 1)},
			"the same state of stream users twice in a row, with 1 records of it in between"},
		{"stream with another stream's records in between", inc, inc,
			[]string{recordLine("users", 1), streamStateLine("users", 1), recordLine("orders", 1), streamStateLine("users", 1)}, ""},
		{"full refresh stream", full, inc,
			[]string{recordLine("users", 1), streamStateLine("users", 1), recordLine("users", 2), streamStateLine("users", 1)}, ""},
		{"reported once", inc, inc,
			[]string{recordLine("users", 1), legacy1, recordLine("users", 2), legacy1, recordLine("users", 3), legacy1},
			"the same LEGACY state twice in a row"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(&memCheckpointer{}, nil, "users", "orders")
			cfg.Catalog = modeCatalog(tc.users, tc.orders)
			res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, tc.lines...), Destination: (&destRecorder{}).run}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range res.Warnings {
				if strings.Contains(w, "twice in a row") {
					got = append(got, w)
				}
			}
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("warnings %q, want none", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Errorf("warnings %q, want one with %q", got, tc.want)
			case len(got) == 1 && strings.Contains(strings.ToLower(got[0]), "global") != strings.Contains(tc.name, "global"):
				t.Errorf("warning %q names the wrong kind of state", got[0])
			}
		})
	}
}
