package protocol

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExtraCaseFolding: encoding/json would match "TYPE" to the declared
// "type"; the codec keeps it as an undeclared member instead, so the
// declared value wins and the message re-encodes unchanged.
func TestExtraCaseFolding(t *testing.T) {
	line := `{"type":"LOG","TYPE":"RECORD","log":{"level":"INFO","Level":"x","message":"m","MESSAGE":1}}`
	m, err := Decode([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != TypeLog || m.Log.Level != "INFO" || m.Log.Message != "m" {
		t.Errorf("decoded type %q level %q message %q; want LOG INFO m", m.Type, m.Log.Level, m.Log.Message)
	}
	if string(m.Extra["TYPE"]) != `"RECORD"` || string(m.Log.Extra["MESSAGE"]) != `1` || string(m.Log.Extra["Level"]) != `"x"` {
		t.Errorf("extras = %v / %v", m.Extra, m.Log.Extra)
	}
	enc, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	enc2, _ := json.Marshal(m2)
	if string(enc) != string(enc2) {
		t.Errorf("unstable:\n%s\n%s", enc, enc2)
	}
}

func TestExtraEdges(t *testing.T) {
	var l Log
	if err := json.Unmarshal([]byte(`null`), &l); err != nil || l.Extra != nil {
		t.Errorf("null: %v, %v", err, l.Extra)
	}
	if err := json.Unmarshal([]byte(`{"level":1}`), &l); err == nil {
		t.Errorf("a number for a string field decoded without error")
	}
	if err := json.Unmarshal([]byte(`[]`), &l); err == nil {
		t.Errorf("an array decoded into a struct without error")
	}
	var r Record
	if err := json.Unmarshal([]byte(` { "stream" : "s" , "x" : [ 1 ] , "data" : { } } `), &r); err != nil {
		t.Fatal(err)
	}
	if r.Stream != "s" || string(r.Data) != `{ }` || string(r.Extra["x"]) != `[ 1 ]` {
		t.Errorf("got %+v", r)
	}
	b, _ := json.Marshal(Log{Level: "INFO", Message: "m", Extra: Extra{"b": json.RawMessage(`2`), "a": nil}})
	if string(b) != `{"level":"INFO","message":"m","a":null,"b":2}` {
		t.Errorf("extras encode as %s", b)
	}
}

func TestCountAndMillis(t *testing.T) {
	for _, tt := range []struct {
		c    Count
		want string
	}{{12, "12.0"}, {0, "0.0"}, {1.5, "1.5"}, {1e20, "100000000000000000000"}} {
		b, err := json.Marshal(tt.c)
		if err != nil || string(b) != tt.want {
			t.Errorf("Count(%v) = %s, %v; want %s", float64(tt.c), b, err, tt.want)
		}
	}
	for _, tt := range []struct {
		in   string
		want Millis
		err  bool
	}{{"1700000000000", 1700000000000, false}, {"1795287976937.5989", 1795287976937, false}, {"1.7e12", 1700000000000, false}, {"null", 0, false}, {`"x"`, 0, true}} {
		var m Millis
		err := m.UnmarshalJSON([]byte(tt.in))
		if (err != nil) != tt.err || m != tt.want {
			t.Errorf("Millis(%s) = %d, %v; want %d", tt.in, m, err, tt.want)
		}
	}
}

func TestStateFileShapes(t *testing.T) {
	stream := &State{Type: StateStream, Stream: &StreamState{StreamDescriptor: StreamDescriptor{Name: "users"}, StreamState: json.RawMessage(`{"c":1}`)},
		ID: new(int64), SourceStats: &StateStats{RecordCount: NewCount(3)}, Extra: Extra{"committedRecordsCount": json.RawMessage(`3`), "keep": json.RawMessage(`1`)}}
	b, err := StateFile([]*State{stream})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"c":1}},"keep":1}]`; string(b) != want {
		t.Errorf("STREAM state file = %s, want %s", b, want)
	}
	legacy := &State{Data: json.RawMessage(`{"users":{"c":1}}`)}
	if b, _ := StateFile([]*State{legacy}); string(b) != `{"users":{"c":1}}` {
		t.Errorf("LEGACY state file = %s, want the bare blob", b)
	}
	if _, err := StateFile([]*State{stream, legacy}); err == nil {
		t.Errorf("mixed kinds gave no error")
	}
	if b, err := StateFile(nil); b != nil || err != nil {
		t.Errorf("no state gave %s, %v", b, err)
	}

	for _, tt := range []struct {
		in   string
		kind StateType
		n    int
	}{
		{`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"}}},{"type":"STREAM","stream":{"stream_descriptor":{"name":"b"}}}]`, StateStream, 2},
		{`[{"type":"GLOBAL","global":{"stream_states":[]}}]`, StateGlobal, 1},
		{`{"users":{"cursor":1}}`, StateLegacy, 1},
		{`{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"}}}`, StateStream, 1},
		{` null `, "", 0},
	} {
		states, err := ParseStateFile([]byte(tt.in))
		if err != nil || len(states) != tt.n || (tt.n > 0 && states[0].Kind() != tt.kind) {
			t.Errorf("ParseStateFile(%s) = %d states, %v", tt.in, len(states), err)
		}
	}
	for _, bad := range []string{`[null]`, `"x"`, `[{"type":"STREAM"}]`} {
		if _, err := ParseStateFile([]byte(bad)); err == nil {
			t.Errorf("ParseStateFile(%s) gave no error", bad)
		}
	}
}

func TestGlobalAlias(t *testing.T) {
	var s State
	in := `{"type":"GLOBAL","global_":{"shared_state":{"a":1},"stream_states":[]},"id":2}`
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	if s.Global == nil || string(s.Global.SharedState) != `{"a":1}` || s.Extra != nil {
		t.Fatalf("got %+v", s)
	}
	b, _ := json.Marshal(s)
	if strings.Contains(string(b), "global_") {
		t.Errorf("the alias was written back: %s", b)
	}
	// Both keys: the real one wins.
	if err := json.Unmarshal([]byte(`{"type":"GLOBAL","global":{"shared_state":{"real":1},"stream_states":[]},"global_":{"stream_states":[]}}`), &s); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"real":1}`, string(s.Global.SharedState)); diff != "" {
		t.Errorf("shared state (-want +got):\n%s", diff)
	}
}
