package runner

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// TestDestinationExitWithoutReadingFails: a destination that exits 0 without reading its input fails the
// attempt, even when the input fit in the pipe buffer.
func TestDestinationExitWithoutReadingFails(t *testing.T) {
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		return ExitStatus{}, nil
	}
	res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1), recordLine("users", 2)), Destination: dst}, baseConfig(&memCheckpointer{}, nil, "users"))
	if err == nil {
		t.Fatalf("succeeded although the destination read none of its input (warnings %v)", res.Warnings)
	}
}

// notifyingCheckpointer signals each commit on committed.
type notifyingCheckpointer struct {
	memCheckpointer
	committed chan struct{}
}

func (n *notifyingCheckpointer) Commit(ctx context.Context, cp Checkpoint) error {
	err := n.memCheckpointer.Commit(ctx, cp)
	select {
	case n.committed <- struct{}{}:
	default:
	}
	return err
}

// TestAckIsCommittedWhileTheDestinationRuns (G3): an acknowledgement
// followed by other output in the same write is committed while the
// destination goes on working, not at its next STATE or its exit: a kill
// of Ferry in between must not lose it.
func TestAckIsCommittedWhileTheDestinationRuns(t *testing.T) {
	cp := &notifyingCheckpointer{committed: make(chan struct{}, 1)}
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		r := protocol.NewReader(stdio.In, 0)
		for {
			line, err := r.ReadLine()
			if err != nil {
				return ExitStatus{}, nil
			}
			if env, _ := protocol.ScanEnvelope(line); env.Type != protocol.TypeState {
				continue
			}
			io.WriteString(stdio.Out, string(line)+"\n"+`{"type":"LOG","log":{"level":"INFO","message":"flushed"}}`+"\n")
			// Keep running (a long load) until the ack is durable.
			select {
			case <-cp.committed:
			case <-ctx.Done():
				return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
			case <-time.After(time.Minute): // a hang guard only
				return ExitStatus{Code: 9}, nil
			}
		}
	}
	res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1), streamStateLine("users", 1)), Destination: dst}, baseConfig(cp, nil, "users"))
	if err != nil || res.Destination.Code != 0 {
		t.Fatalf("Sync: %v, destination %s: the ack was committed only at the destination's exit", err, res.Destination)
	}
}

// TestDestinationCrashStopsAnIdleSource: when the destination dies while
// the source is idle (a long query before its next row), Ferry stops the
// source at once instead of at its next write (docs/protocol.md 4.4).
func TestDestinationCrashStopsAnIdleSource(t *testing.T) {
	src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		writeLines(stdio.Out, recordLine("users", 1), streamStateLine("users", 1))
		select {
		case <-ctx.Done():
			return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
		case <-time.After(time.Minute): // a hang guard only
		}
		writeLines(stdio.Out, recordLine("users", 2))
		return ExitStatus{}, nil
	}
	dst := &destRecorder{crashAfterState: 1}
	res, err := Sync(context.Background(), &FakeRuntime{Source: src, Destination: dst.run}, baseConfig(&memCheckpointer{}, nil, "users"))
	if err == nil || !hasFailure(res, protocol.OriginDestination, "", "") {
		t.Fatalf("got %v %+v, want a destination failure", err, res.Failures)
	}
	if !res.Source.Signalled {
		t.Fatalf("source %+v: it ran on after the destination had died", res.Source)
	}
}
