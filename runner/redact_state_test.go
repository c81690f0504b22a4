package runner_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/secret"
)

// echoAcks is a destination that acknowledges every state it reads.
func echoAcks(_ context.Context, _ runner.ConnectorSpec, stdio runner.Stdio) (runner.ExitStatus, error) {
	sc := bufio.NewScanner(stdio.In)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"type":"STATE"`) {
			if _, err := fmt.Fprintln(stdio.Out, sc.Text()); err != nil {
				return runner.ExitStatus{}, err
			}
		}
	}
	return runner.ExitStatus{}, sc.Err()
}

// TestCommittedStateMasked runs a sync whose source writes its whole
// config into its second state (as an object, as a JSON string, and
// \u-escaped in a LOG message); the first state holds no secret. The
// checkpointer receives the first state byte for byte and the second with
// every secret masked, and so does the result; the log holds no secret.
func TestCommittedStateMasked(t *testing.T) {
	pw := `pa"ss\wörd-😀`
	config := `{"host":"db","password":` + jsonString(t, pw) + `}`
	spec := `{"type":"object","properties":{"host":{"type":"string"},"password":{"type":"string","airbyte_secret":true}}}`
	record := `{"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":1}}` + "\n"
	clean := `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":1}},"sourceStats":{"recordCount":1}}}` + "\n"
	leaky := `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":2,"config":` + config +
		`,"quoted":` + jsonString(t, config) + `}},"sourceStats":{"recordCount":1}}}` + "\n"
	logLine := `{"type":"LOG","log":{"level":"INFO","message":"config ` + asciiJSON(config) + `"}}` + "\n"
	committed, _, _ := syncStates(t, record+clean, config, spec)
	if first := committed[len(committed)-1][0].Stream.StreamState; string(first) != `{"cursor":1}` {
		t.Errorf("a state without a secret: got %s, want {\"cursor\":1} as sent", first)
	}
	committed, res, log := syncStates(t, record+clean+logLine+record+leaky, config, spec)
	last, _ := json.Marshal(committed[len(committed)-1])
	final, _ := json.Marshal(res.CommittedState)
	for what, text := range map[string]string{"the last commit": string(last), "the result's state": string(final), "the log": log} {
		if strings.Contains(text, "wörd") || strings.Contains(text, `w\u00f6rd`) || strings.Contains(text, "pa") && strings.Contains(text, `ss\\`) {
			t.Errorf("%s holds the secret: %s", what, text)
		}
		if !strings.Contains(text, secret.Mask) {
			t.Errorf("%s shows no mask: %s", what, text)
		}
	}
	if !strings.Contains(string(last), `"cursor":2`) || !strings.Contains(string(last), `"host":"db"`) {
		t.Errorf("the last commit lost what is not secret: %s", last)
	}
}

// syncStates runs one sync of stdout into an acknowledging destination
// and returns the committed states.
func syncStates(t *testing.T, stdout, config, spec string) ([][]*protocol.State, *runner.Result, string) {
	t.Helper()
	source := runner.ScriptRun(stdout, "", runner.ExitStatus{})
	rt := &runner.FakeRuntime{RunFunc: func(ctx context.Context, s runner.ConnectorSpec, stdio runner.Stdio) (runner.ExitStatus, error) {
		if s.Role == runner.RoleSource {
			return source(ctx, s, stdio)
		}
		return echoAcks(ctx, s, stdio)
	}}
	var mu sync.Mutex
	var committed [][]*protocol.State
	log := &lockedBuffer{}
	cfg := runner.Config{
		InstanceID: "test", JobID: 1, Attempt: 1,
		Source:      runner.Connector{Image: "source-leaky", Config: json.RawMessage(config), Spec: json.RawMessage(`{"connectionSpecification":` + spec + `}`)},
		Destination: runner.Connector{Image: "destination", Config: json.RawMessage(`{}`)},
		Catalog: &protocol.ConfiguredCatalog{Streams: []protocol.ConfiguredStream{{
			Stream:   protocol.Stream{Name: "users", JSONSchema: json.RawMessage(`{"type":"object"}`), SupportedSyncModes: []string{protocol.SyncIncremental}},
			SyncMode: protocol.SyncIncremental, DestinationSyncMode: protocol.DestAppend, CursorField: []string{"id"},
		}}},
		Checkpointer: runner.CheckpointFunc(func(_ context.Context, cp runner.Checkpoint) error {
			mu.Lock()
			defer mu.Unlock()
			if cp.States != nil {
				committed = append(committed, cp.States)
			}
			return nil
		}),
		Secrets: secret.Values(json.RawMessage(spec), json.RawMessage(config)),
		Log:     log,
	}
	res, err := runner.Sync(t.Context(), rt, cfg)
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, log.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(committed) == 0 {
		t.Fatal("nothing was committed")
	}
	return committed, res, log.String()
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// asciiJSON is s JSON-escaped as Python's json.dumps writes it: non-ASCII
// as \uXXXX (surrogate pairs beyond the BMP), without the quotes.
func asciiJSON(s string) string {
	var b strings.Builder
	q, _ := json.Marshal(s)
	for _, r := range string(q[1 : len(q)-1]) {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\ud%03x\ud%03x`, 0x800+(r>>10), 0xC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}
