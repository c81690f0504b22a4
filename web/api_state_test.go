package web

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestState verifies GET, PUT and DELETE of a connection's state: an empty
// state is not_set, a PUT round-trips through GET as the source would get
// it, a DELETE of one stream keeps the others, and writes are refused
// while an attempt runs.
func TestState(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	statePath := "/api/v1/connections/" + f.conn + "/state"
	var st stateJSON
	e.do(t, "GET", statePath, nil, 200, &st)
	if st.StateType != "not_set" || len(st.State) != 0 || st.ConnectionID != f.conn {
		t.Fatalf("got %+v, want an empty not_set state", st)
	}

	states := json.RawMessage(`[
	 {"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":"2025-01-01"}}},
	 {"type":"STREAM","stream":{"stream_descriptor":{"name":"products","namespace":"shop"},"stream_state":{"page":3}}}]`)
	e.do(t, "PUT", statePath, map[string]any{"state": states}, 200, &st)
	if st.StateType != "stream" || len(st.State) != 2 {
		t.Fatalf("after PUT got %+v, want two stream states", st)
	}
	b := e.do(t, "GET", statePath, nil, 200, nil)
	var got struct {
		State []map[string]any `json:"state"`
	}
	json.Unmarshal(b, &got)
	var want []map[string]any
	json.Unmarshal(states, &want)
	// The store orders streams by namespace, then name: users, with none,
	// comes first, as sent.
	if diff := cmp.Diff(want, got.State); diff != "" {
		t.Errorf("state after a round trip (-want +got):\n%s", diff)
	}

	e.do(t, "DELETE", statePath, map[string]any{"streams": []map[string]any{{"name": "users"}}}, 200, &st)
	if len(st.State) != 1 || st.State[0].Stream.StreamDescriptor.Name != "products" {
		t.Errorf("after deleting users got %+v, want products only", st.State)
	}
	e.fail(t, "PUT", statePath, map[string]any{"state": json.RawMessage(`[{"type":"STREAM"}]`)}, 400)
	e.fail(t, "PUT", statePath, map[string]any{"connectionId": "other", "state": []any{}}, 400)
	e.fail(t, "PUT", statePath, map[string]any{}, 400)

	// While an attempt runs the state belongs to it.
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn}, 201, nil)
	e.startAttempt(t)
	e.fail(t, "DELETE", statePath, nil, 409)
	e.fail(t, "PUT", statePath, map[string]any{"state": []any{}}, 409)
	e.do(t, "GET", statePath, nil, 200, &st)
	if len(st.State) != 1 {
		t.Errorf("refused writes changed the state: %+v", st.State)
	}
}

// TestStateDeleteAll verifies DELETE without a body clears every stream.
func TestStateDeleteAll(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	statePath := "/api/v1/connections/" + f.conn + "/state"
	e.do(t, "PUT", statePath, map[string]any{"state": json.RawMessage(`[{"type":"LEGACY","data":{"cursor":1}}]`)}, 200, nil)
	var st stateJSON
	e.do(t, "GET", statePath, nil, 200, &st)
	if st.StateType != "legacy" {
		t.Fatalf("got state type %q, want legacy", st.StateType)
	}
	e.do(t, "DELETE", statePath, nil, 200, &st)
	if st.StateType != "not_set" || len(st.State) != 0 {
		t.Errorf("after DELETE got %+v, want not_set", st)
	}
}
