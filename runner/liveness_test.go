package runner

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/ferrysync/ferry/clock"
	"github.com/ferrysync/ferry/protocol"
)

// TestLivenessCountsOnlyWaitsOnTheSource: the no-progress time grows only
// while Ferry waits on the source, resets with progress, and stops for good
// once the source exited; the destination time is the age of the write in
// flight.
func TestLivenessCountsOnlyWaitsOnTheSource(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	limits := Timeouts{NoProgress: 10 * time.Second, DestinationWrite: 20 * time.Second}
	clk := clock.NewFake(t0)
	l := newLiveness(clk)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	trips := func(d time.Duration) error {
		_, cause := l.check(at(d), limits)
		return cause
	}

	l.readStarted() // waits from 0 s
	if err := trips(10 * time.Second); err != nil {
		t.Fatalf("at the limit: %v, want nothing (the limit is exceeded only past it)", err)
	}
	if err := trips(11 * time.Second); err != errNoProgress {
		t.Fatalf("11 s of waiting: %v, want no progress", err)
	}
	clk.Advance(5 * time.Second)
	l.readEnded() // 5 s waited, then Ferry writes for a long time
	l.writeStarted()
	if err := trips(19 * time.Second); err != nil {
		t.Fatalf("5 s waited, then writing: %v, want nothing", err)
	}
	if err := trips(26 * time.Second); err != errDestinationStuck {
		t.Fatalf("a write in flight for 21 s: %v, want the destination timeout", err)
	}
	clk.Advance(5 * time.Second)
	l.writeEnded()
	l.progress.Add(1) // records came with the last read
	l.readStarted()   // waits from 10 s; the earlier 5 s no longer count
	if err := trips(20 * time.Second); err != nil {
		t.Fatalf("10 s after progress: %v, want nothing", err)
	}
	l.sourceExited()
	if err := trips(time.Hour); err != nil {
		t.Fatalf("after the source exited: %v, want nothing", err)
	}
}

// syncInBackground runs Sync and closes done when it returned.
func syncInBackground(rt Runtime, cfg Config) (res func() *Result, done chan struct{}) {
	done = make(chan struct{})
	var r *Result
	go func() {
		defer close(done)
		r, _ = Sync(context.Background(), rt, cfg)
	}()
	return func() *Result { <-done; return r }, done
}

func hang(ctx context.Context, _ ConnectorSpec, _ Stdio) (ExitStatus, error) {
	<-ctx.Done()
	return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
}

// TestNoProgressTimeoutStopsASilentSource (G8): a source that goes silent
// is stopped with heartbeat_timeout once the clock passes NoProgress.
func TestNoProgressTimeoutStopsASilentSource(t *testing.T) {
	src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		writeLines(stdio.Out, recordLine("users", 1))
		return hang(ctx, spec, stdio)
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Timeouts.NoProgress = time.Minute
	ft := withFakeTime(&cfg, 7*time.Second)
	result, done := syncInBackground(&FakeRuntime{Source: src, Destination: (&destRecorder{}).run}, cfg)
	// Time moves only while Ferry waits on the source: before its first
	// read, no time may count.
	waiting := func(a *attempt) bool { return a.live.waiting() }
	if ft.advance(time.Hour, done, waiting) {
		t.Fatal("the watchdog ran an hour past the limit without stopping the source")
	}
	if res := result(); !hasFailure(res, protocol.OriginSource, protocol.FailureHeartbeatTimeout, "no-progress") {
		t.Fatalf("failures %+v: want a heartbeat_timeout", res.Failures)
	}
}

// TestNoProgressTimeoutIgnoresTimeAfterSourceExit: once the source exited
// 0, a destination that takes longer than NoProgress to finish (a
// warehouse loading) is not source silence.
func TestNoProgressTimeoutIgnoresTimeAfterSourceExit(t *testing.T) {
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Timeouts.NoProgress = time.Minute
	ft := withFakeTime(&cfg, 7*time.Second)
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		st, err := (&destRecorder{}).run(ctx, spec, stdio) // to the end of input: the source has exited
		if !ft.advance(10*time.Minute, ctx.Done(), nil) {
			return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
		}
		return st, err
	}
	res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1), streamStateLine("users", 1)), Destination: dst}, cfg)
	if err != nil {
		t.Fatalf("got %v (failures %+v); a slow destination finish after the source exited is not source silence", err, res.Failures)
	}
}

// TestDestinationBackpressureIsNotSourceSilence: while the pump is blocked
// writing to a destination that stopped reading, the source cannot make
// progress and is not blamed; the destination timeout applies instead.
func TestDestinationBackpressureIsNotSourceSilence(t *testing.T) {
	var lines []string
	for i := 0; i < 60000; i++ { // ~6 MB: more than the pipes and buffers hold
		lines = append(lines, recordLine("users", i))
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Timeouts.NoProgress = time.Minute
	cfg.Timeouts.DestinationWrite = 10 * time.Minute
	ft := withFakeTime(&cfg, 7*time.Second)
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		stdio.In.Read(make([]byte, 100))
		// Flushing, not reading. Time moves only while Ferry is writing to
		// it, so any time that counts falls on a blocked write.
		writing := func(a *attempt) bool { return a.live.writeInFlight() }
		ft.advance(time.Hour, ctx.Done(), writing)
		return hang(ctx, spec, stdio)
	}
	result, _ := syncInBackground(&FakeRuntime{Source: scriptedSource(0, lines...), Destination: dst}, cfg)
	res := result()
	if hasFailure(res, protocol.OriginSource, protocol.FailureHeartbeatTimeout, "") {
		t.Fatalf("the source was blamed for destination backpressure: %+v", res.Failures)
	}
	if !hasFailure(res, protocol.OriginDestination, protocol.FailureDestinationTimeout, "did not read") {
		t.Fatalf("failures %+v: want a destination_timeout", res.Failures)
	}
}

// TestEndOfInputTimeoutStopsADestinationThatNeverExits (G8).
func TestEndOfInputTimeoutStopsADestinationThatNeverExits(t *testing.T) {
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Timeouts.EndOfInput = time.Minute
	ft := withFakeTime(&cfg, 7*time.Second)
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		io.Copy(io.Discard, stdio.In)
		// Ferry arms the end-of-input limit once it closed this input.
		if ft.clk.WaitForTimer(ctx, time.Minute) != nil {
			return hang(ctx, spec, stdio)
		}
		ft.advance(time.Hour, ctx.Done(), nil)
		return hang(ctx, spec, stdio)
	}
	res, _ := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1)), Destination: dst}, cfg)
	if !hasFailure(res, protocol.OriginDestination, protocol.FailureDestinationTimeout, "after the end of its input") {
		t.Fatalf("failures %+v: want an end-of-input timeout", res.Failures)
	}
}

// TestNegativeTimeoutsDisableTheirCheck: a negative EndOfInput or
// SourceExit disables the check (the daemon passes a connection's values
// through) instead of firing at once.
func TestNegativeTimeoutsDisableTheirCheck(t *testing.T) {
	t.Run("EndOfInput", func(t *testing.T) {
		cfg := baseConfig(&memCheckpointer{}, nil, "users")
		cfg.Timeouts.EndOfInput = -1
		ft := withFakeTime(&cfg, time.Hour)
		dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
			st, err := (&destRecorder{}).run(ctx, spec, stdio)
			ft.clk.Advance(24 * time.Hour)
			return st, err
		}
		res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1)), Destination: dst}, cfg)
		if err != nil {
			t.Fatalf("EndOfInput=-1 should disable the check; got %+v", res.Failures)
		}
	})
	t.Run("SourceExit", func(t *testing.T) {
		cfg := baseConfig(&memCheckpointer{}, nil, "users")
		cfg.Timeouts.SourceExit = -1
		ft := withFakeTime(&cfg, time.Hour)
		src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
			writeLines(stdio.Out, recordLine("users", 1))
			if c, ok := stdio.Out.(io.Closer); ok {
				c.Close()
			}
			ft.clk.Advance(24 * time.Hour)
			return ExitStatus{}, nil
		}
		res, err := Sync(context.Background(), &FakeRuntime{Source: src, Destination: (&destRecorder{}).run}, cfg)
		if err != nil {
			t.Fatalf("SourceExit=-1 should disable the check; got %+v", res.Failures)
		}
	})
}

// TestSocketModeDestinationOutputIsProgress: in socket mode records never
// pass Ferry, and a full refresh may print no state for hours while data
// flows on the sockets. The destination's stats records are the sign of
// that flow, so a healthy sync is not failed for no progress.
func TestSocketModeDestinationOutputIsProgress(t *testing.T) {
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Mode = Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}
	cfg.Timeouts.NoProgress = time.Minute
	ft := withFakeTime(&cfg, 30*time.Second)
	srcGo := make(chan struct{})
	src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		select { // streaming on the sockets, nothing on stdout
		case <-ctx.Done():
			return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
		case <-srcGo:
		}
		writeLines(stdio.Out, socketStateLine("users", 1, "p1", 10, 10))
		return ExitStatus{}, nil
	}
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		go io.Copy(io.Discard, stdio.In)
		for i := int64(1); i <= 20; i++ { // ten minutes of stats every 30 s
			writeLines(stdio.Out, `{"type":"RECORD","record":{"stream":"users","data":{},"emitted_at":1,"isDummyStatsMessage":true,"emittedRecordsCount":5,"emittedBytesCount":500}}`)
			seen := func(a *attempt) bool { return a.live.progress.Load() >= i }
			if !waitFor(ft, ctx.Done(), seen) || !ft.advance(time.Duration(i)*30*time.Second, ctx.Done(), nil) {
				return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
			}
		}
		close(srcGo)
		writeLines(stdio.Out, socketStateLine("users", 1, "p1", 10, 10))
		return ExitStatus{}, nil
	}
	res, err := Sync(context.Background(), &FakeRuntime{Source: src, Destination: dst}, cfg)
	if err != nil {
		t.Fatalf("a socket-mode sync with data flowing was failed: %+v", res.Failures)
	}
}
