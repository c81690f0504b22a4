package runner

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// stdinDest is a socket-mode destination that acknowledges state 1 of
// users and then keeps what Ferry writes on its stdin, to the end.
type stdinDest struct {
	mu    sync.Mutex
	stdin []string
	env   map[string]string
}

func (d *stdinDest) run(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
	if err := writeLines(stdio.Out, socketStateLine("users", 1, "p1", 10, 10)); err != nil {
		return ExitStatus{Code: 1}, nil
	}
	b, err := io.ReadAll(stdio.In)
	if err != nil {
		return ExitStatus{Code: 1}, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.env = spec.Env
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			d.stdin = append(d.stdin, l)
		}
	}
	return ExitStatus{}, nil
}

// TestSocketCompleteOnStdin (G5 in socket mode): the source's COMPLETE
// statuses go down the sockets before Ferry knows its exit code, so Ferry
// confirms the streams on the destination's stdin, under the source's
// names as everything in socket mode, and only once the source exited 0.
// A source that fails after emitting everything (exit 1, or killed: 137)
// gets no confirmation, only the end of stdin, while the acknowledged
// state is still committed; a stream the source reported INCOMPLETE is
// never confirmed.
func TestSocketCompleteOnStdin(t *testing.T) {
	incomplete := `{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"orders"},"status":"INCOMPLETE"}}}`
	for _, tc := range []struct {
		name    string
		code    int
		extra   []string
		want    []string // streams confirmed
		wantErr bool
	}{
		{name: "source exit 0", want: []string{"users", "orders"}},
		{name: "source exit 1", code: 1, wantErr: true},
		{name: "source killed", code: 137, wantErr: true},
		{name: "stream reported incomplete", extra: []string{incomplete}, want: []string{"users"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp := &memCheckpointer{}
			cfg := baseConfig(cp, nil, "users", "orders")
			cfg.Mode = Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}
			cfg.Mapping = NamespaceMapping{Prefix: "raw_"}
			dst := &stdinDest{}
			src := scriptedSource(tc.code, append([]string{socketStateLine("users", 1, "p1", 10, 10)}, tc.extra...)...)
			_, err := Sync(context.Background(), &FakeRuntime{Source: src, Destination: dst.run}, cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if dst.env[EnvCompleteOnStdin] != "true" {
				t.Errorf("%s=%q, want true", EnvCompleteOnStdin, dst.env[EnvCompleteOnStdin])
			}
			var got []string
			for _, l := range dst.stdin {
				m, err := protocol.Decode([]byte(l))
				if err != nil || m.Trace == nil || m.Trace.StreamStatus == nil || m.Trace.StreamStatus.Status != protocol.StreamComplete {
					t.Fatalf("stdin line %s: want only COMPLETE statuses", l)
				}
				got = append(got, m.Trace.StreamStatus.StreamDescriptor.String())
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("confirmed %v on stdin, want %v", got, tc.want)
			}
			if st := stateJSON(t, cp.last()); !strings.Contains(st, `"cursor":10}`) {
				t.Fatalf("the acknowledged state was not committed: %s", st)
			}
		})
	}
}

// TestSocketDestinationIgnoringStdin: Airbyte's socket destinations never
// read stdin and may be gone before the source's exit; Ferry's COMPLETE
// statuses then find no reader, which is no failure of the attempt.
func TestSocketDestinationIgnoringStdin(t *testing.T) {
	gone := make(chan struct{})
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		writeLines(stdio.Out, socketStateLine("users", 1, "p1", 10, 10))
		// As if it had exited: nobody will ever read this stdin.
		stdio.In.(io.Closer).Close()
		close(gone)
		return ExitStatus{}, nil
	}
	src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		<-gone
		writeLines(stdio.Out, socketStateLine("users", 1, "p1", 10, 10))
		return ExitStatus{}, nil
	}
	log := &syncBuffer{}
	cfg := baseConfig(&memCheckpointer{}, log, "users")
	cfg.Mode = Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}
	res, err := Sync(context.Background(), &FakeRuntime{Source: src, Destination: dst}, cfg)
	if err != nil {
		t.Fatalf("err %v, failures %+v; want success", err, res.Failures)
	}
	if !strings.Contains(log.String(), "did not take its end of input") {
		t.Fatalf("the unread COMPLETE statuses are not in the log:\n%s", log.String())
	}
}
