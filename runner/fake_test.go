package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// fakeRuntime runs Go functions as connectors. It is the seam fake for the
// sync tests: the real runtimes are held to the same contract by the
// acceptance suite in runnertest.
type fakeRuntime struct {
	source, destination func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error)
	mu                  sync.Mutex
	specs               map[Role]ConnectorSpec
}

var _ Runtime = (*fakeRuntime)(nil)

func (f *fakeRuntime) Name() string                   { return "fake" }
func (f *fakeRuntime) Ping(ctx context.Context) error { return nil }

func (f *fakeRuntime) Run(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
	f.mu.Lock()
	if f.specs == nil {
		f.specs = map[Role]ConnectorSpec{}
	}
	f.specs[spec.Role] = spec
	f.mu.Unlock()
	fn := f.source
	if spec.Role == RoleDestination {
		fn = f.destination
	}
	type out struct {
		st  ExitStatus
		err error
	}
	ch := make(chan out, 1)
	go func() {
		st, err := fn(ctx, spec, stdio)
		ch <- out{st, err}
	}()
	select {
	case o := <-ch:
		return o.st, o.err
	case <-ctx.Done():
		// Like a container stopped by SIGTERM: the process is gone, its
		// output ends. The function may still be blocked; it is abandoned.
		return ExitStatus{Code: 143, Signalled: true}, fmt.Errorf("run %s: %w", spec.Name, ErrCancelled)
	}
}

// lines writes JSON lines to w.
func writeLines(w io.Writer, lines ...string) error {
	for _, l := range lines {
		if _, err := io.WriteString(w, l+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func recordLine(stream string, i int) string {
	return fmt.Sprintf(`{"type":"RECORD","record":{"stream":%q,"data":{"id":%d,"name":"n%d"},"emitted_at":1700000000000}}`, stream, i, i)
}

func streamStateLine(stream string, cursor int) string {
	return fmt.Sprintf(`{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":%q},"stream_state":{"cursor":%d}}}}`, stream, cursor)
}

// scriptedSource emits the given lines and exits with code.
func scriptedSource(code int, lines ...string) func(context.Context, ConnectorSpec, Stdio) (ExitStatus, error) {
	return func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		if err := writeLines(stdio.Out, lines...); err != nil {
			return ExitStatus{Code: 1}, nil
		}
		return ExitStatus{Code: code}, nil
	}
}

// destRecorder is a destination that records its input and acknowledges
// states according to ack.
type destRecorder struct {
	mu      sync.Mutex
	input   []string
	records int
	// ack decides what to echo for the n-th state (1-based); nil echoes the
	// state unchanged. Returning "" echoes nothing.
	ack func(n int, line string) string
	// crashAfterState exits with code 1 right after acknowledging this state.
	crashAfterState int
}

func (d *destRecorder) run(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
	r := protocol.NewReader(stdio.In, 0)
	n := 0
	for {
		line, err := r.ReadLine()
		if err != nil {
			break
		}
		l := string(line)
		d.mu.Lock()
		d.input = append(d.input, l)
		d.mu.Unlock()
		env, err := protocol.ScanEnvelope(line)
		if err != nil {
			continue
		}
		switch env.Type {
		case protocol.TypeRecord:
			d.mu.Lock()
			d.records++
			d.mu.Unlock()
		case protocol.TypeState:
			n++
			echo := l
			if d.ack != nil {
				echo = d.ack(n, l)
			}
			if echo != "" {
				if err := writeLines(stdio.Out, echo); err != nil {
					return ExitStatus{Code: 1}, nil
				}
			}
			if d.crashAfterState == n {
				return ExitStatus{Code: 1}, nil
			}
		}
	}
	return ExitStatus{}, nil
}

func (d *destRecorder) inputOf(t protocol.Type) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, l := range d.input {
		if env, err := protocol.ScanEnvelope([]byte(l)); err == nil && env.Type == t {
			out = append(out, l)
		}
	}
	return out
}

// memCheckpointer keeps every commit.
type memCheckpointer struct {
	mu      sync.Mutex
	commits []Checkpoint
	fail    error
}

func (m *memCheckpointer) Commit(ctx context.Context, cp Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.commits = append(m.commits, cp)
	return nil
}

// last returns the state of the last commit that carried states.
func (m *memCheckpointer) last() []*protocol.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.commits) - 1; i >= 0; i-- {
		if m.commits[i].States != nil {
			return m.commits[i].States
		}
	}
	return nil
}

func stateJSON(t *testing.T, states []*protocol.State) string {
	t.Helper()
	b, err := json.Marshal(states)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testCatalog(streams ...string) *protocol.ConfiguredCatalog {
	c := &protocol.ConfiguredCatalog{}
	for _, s := range streams {
		c.Streams = append(c.Streams, protocol.ConfiguredStream{
			Stream: protocol.Stream{
				Name:               s,
				JSONSchema:         json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}}}`),
				SupportedSyncModes: []string{protocol.SyncFullRefresh, protocol.SyncIncremental},
			},
			SyncMode:            protocol.SyncIncremental,
			CursorField:         []string{"id"},
			DestinationSyncMode: protocol.DestAppend,
		})
	}
	return c
}

func baseConfig(cp Checkpointer, log io.Writer, streams ...string) Config {
	return Config{
		InstanceID:       "test",
		JobID:            1,
		Attempt:          1,
		Source:           Connector{Image: "src", Config: json.RawMessage(`{}`)},
		Destination:      Connector{Image: "dst", Config: json.RawMessage(`{}`)},
		Catalog:          testCatalog(streams...),
		Checkpointer:     cp,
		Log:              log,
		ProgressInterval: 10 * time.Millisecond,
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func hasFailure(res *Result, origin, typ, substr string) bool {
	for _, f := range res.Failures {
		if f.Origin == origin && (typ == "" || f.Type == typ) && strings.Contains(f.ExternalMessage, substr) {
			return true
		}
	}
	return false
}
