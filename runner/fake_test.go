package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrysync/ferry/clock"
	"github.com/ferrysync/ferry/protocol"
)

// FakeRuntime runs Go functions as connectors. It is the one fake runtime
// of the runner's tests (exported to runner_test through this test file),
// and it keeps the runtime contract (runtime.go) on cancel as a container
// would: the function's ctx is cancelled (SIGTERM); if it has not returned
// after spec.StopTimeout, its output is cut off (SIGKILL) and Run returns
// without it. Either way Run returns a Signalled status and ErrCancelled.
type FakeRuntime struct {
	// Source and Destination play the connector of their role; RunFunc
	// plays any other (spec, check, discover) and any role left nil.
	Source, Destination, RunFunc func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error)
	PingFunc                     func(ctx context.Context) error

	mu    sync.Mutex
	specs []ConnectorSpec
}

var _ Runtime = (*FakeRuntime)(nil)

// Name returns "fake".
func (f *FakeRuntime) Name() string { return "fake" }

// Ping calls PingFunc, or succeeds.
func (f *FakeRuntime) Ping(ctx context.Context) error {
	if f.PingFunc == nil {
		return nil
	}
	return f.PingFunc(ctx)
}

// Specs returns the specs run so far, in order.
func (f *FakeRuntime) Specs() []ConnectorSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ConnectorSpec(nil), f.specs...)
}

// spec returns the last spec run for role.
func (f *FakeRuntime) spec(role Role) ConnectorSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.specs) - 1; i >= 0; i-- {
		if f.specs[i].Role == role {
			return f.specs[i]
		}
	}
	return ConnectorSpec{}
}

// Run plays the connector of spec.Role.
func (f *FakeRuntime) Run(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
	f.mu.Lock()
	f.specs = append(f.specs, spec)
	f.mu.Unlock()
	fn := f.RunFunc
	switch {
	case spec.Role == RoleSource && f.Source != nil:
		fn = f.Source
	case spec.Role == RoleDestination && f.Destination != nil:
		fn = f.Destination
	}
	out, errw := &killableWriter{w: stdio.Out}, &killableWriter{w: stdio.Err}
	type result struct {
		st  ExitStatus
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := fn(ctx, spec, Stdio{In: stdio.In, Out: out, Err: errw})
		done <- result{st, err}
	}()
	select {
	case r := <-done:
		return r.st, r.err
	case <-ctx.Done():
	}
	grace := spec.StopTimeout
	if grace <= 0 {
		grace = DefaultStopTimeout
	}
	kill := time.NewTimer(grace) // the runtime's own grace, not the attempt's clock
	defer kill.Stop()
	code := 143
	select {
	case <-done:
	case <-kill.C:
		out.kill()
		errw.kill()
		code = 137
	}
	return ExitStatus{Code: code, Signalled: true}, fmt.Errorf("run %s: %w", spec.Name, ErrCancelled)
}

// killableWriter stops passing writes on once its connector is killed, as
// a killed process writes nothing more.
type killableWriter struct {
	mu     sync.Mutex
	w      io.Writer
	killed bool
}

func (k *killableWriter) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.killed {
		return 0, os.ErrClosed
	}
	if k.w == nil {
		return len(p), nil
	}
	return k.w.Write(p)
}

func (k *killableWriter) kill() {
	k.mu.Lock()
	k.killed = true
	k.mu.Unlock()
}

// ScriptRun returns a connector that writes stdout and stderr and exits
// with status.
func ScriptRun(stdout, stderr string, status ExitStatus) func(context.Context, ConnectorSpec, Stdio) (ExitStatus, error) {
	return func(_ context.Context, _ ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		for _, s := range []struct {
			w    io.Writer
			text string
		}{{stdio.Out, stdout}, {stdio.Err, stderr}} {
			if s.w != nil {
				if _, err := io.WriteString(s.w, s.text); err != nil {
					return ExitStatus{}, err
				}
			}
		}
		return status, nil
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

// testAttempt returns an attempt's books for unit tests of one part.
func testAttempt() *attempt {
	clk := clock.Real()
	log := NewAttemptLog(nil, nil)
	cfg := &Config{}
	return &attempt{cfg: cfg, clock: clk, log: log, findings: newFindings(log, nil, clk), live: newLiveness(clk),
		maxLine: protocol.DefaultMaxLineBytes, cancelRun: func(error) {}}
}

// fakeTime runs an attempt on a fake clock and moves it in step with the
// watchdog: OnProgress tells how far the watchdog has checked the limits.
type fakeTime struct {
	clk     *clock.Fake
	tick    time.Duration
	checked atomic.Int64 // the largest Elapsed the watchdog reported
	attempt atomic.Pointer[attempt]
}

// withFakeTime puts cfg on a fake clock whose watchdog ticks every tick.
func withFakeTime(cfg *Config, tick time.Duration) *fakeTime {
	ft := &fakeTime{clk: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), tick: tick}
	cfg.Clock = ft.clk
	cfg.ProgressInterval = tick
	cfg.OnProgress = func(p Progress) {
		for {
			old := ft.checked.Load()
			if int64(p.Elapsed) <= old || ft.checked.CompareAndSwap(old, int64(p.Elapsed)) {
				return
			}
		}
	}
	cfg.observe = func(a *attempt) { ft.attempt.Store(a) }
	return ft
}

// advance moves the clock a tick at a time, each time the watchdog has
// armed its next tick, until it has checked the limits at least d after
// the start (true), or until done is closed: the attempt ended, or a limit
// stopped it (false). gate, when set, must hold before each step. Real
// time only paces the loop; which limit trips depends on the clock alone.
func (ft *fakeTime) advance(d time.Duration, done <-chan struct{}, gate func(*attempt) bool) bool {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	for time.Duration(ft.checked.Load()) < d {
		if ft.clk.WaitForTimer(ctx, ft.tick) != nil {
			return false
		}
		if gate != nil && !waitFor(ft, done, gate) {
			return false
		}
		ft.clk.Advance(ft.tick)
		// The watchdog reports the tick through OnProgress before it arms
		// the next one, so checked is current at the next WaitForTimer.
	}
	return true
}

// waitFor polls cond, a condition on the attempt's state, until it holds
// or done is closed. The attempt's state, not the time, decides.
func waitFor(ft *fakeTime, done <-chan struct{}, cond func(*attempt) bool) bool {
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	for {
		if a := ft.attempt.Load(); a != nil && cond(a) {
			return true
		}
		select {
		case <-done:
			return false
		case <-poll.C:
		}
	}
}
