package cdk

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// Socket mode on the source side (docs/protocol.md 5.3, 5.6).
//
// The read is planned as jobs: each partition of a Partitioned stream is a
// job, and the plain streams together are one job that reads them in
// catalog order. One worker goroutine per socket takes jobs in order and
// writes everything they emit to its own socket, so the record path never
// contends with another worker. Records go only to sockets; states and
// stream statuses go to stdout (for Ferry's bookkeeper) and to the socket
// of the partition that produced them (for the destination).
//
// Who closes what: listenSockets hands the connections to readSockets,
// which wraps each in a sockWriter and closes all of them once every
// worker has returned, flushed on success. Closing is the end of data for
// the destination.

// streamRun is one configured stream during a socket read, shared by its
// partitions.
type streamRun struct {
	desc   protocol.StreamDescriptor
	req    *ReadRequest
	stream Stream
	schema *protobuf.RecordSchema // PROTOBUF only
	// partitioned: the stream implements Partitioned (else it is read
	// whole, as one partition, like in stdio mode).
	partitioned bool

	remaining atomic.Int64 // partitions not finished yet
	// start emits STARTED once; the other partitions wait for it, so that
	// no RUNNING of theirs can come first.
	start    sync.Once
	startErr error
	running  atomic.Bool // RUNNING was emitted
	failed   atomic.Bool // a partition failed: INCOMPLETE was emitted
	records  atomic.Int64
	states   atomic.Int64
	warned   atomic.Bool // a protobuf conversion warning was logged
}

// readJob is one unit of work for a socket worker.
type readJob func(ctx context.Context, sock *sockWriter) error

// readSockets runs a read in socket mode.
func (rs *readSession) readSockets(ctx context.Context, ch *channelConfig, cat *protocol.ConfiguredCatalog, byDesc map[protocol.StreamDescriptor]Stream) error {
	rs.socket = true
	rs.pids = newPartitionIDs()
	if ch.protobuf() {
		pc, err := protobuf.NewConfiguredCatalog(cat)
		if err != nil {
			return SystemError("PROTOBUF needs each stream's json_schema: %v", err)
		}
		rs.protoCat = pc
	}
	// Plan before listening, so a stream that cannot partition fails
	// before the destination is kept waiting.
	jobs, err := rs.plan(ctx, cat, byDesc, len(ch.paths))
	if err != nil {
		return err
	}
	rs.r.log.Info("waiting for the destination to connect", "sockets", len(ch.paths), "format", ch.format, "timeout", ch.timeout.String())
	conns, err := listenSockets(ctx, ch.paths, ch.timeout)
	if err != nil {
		return err
	}
	socks := make([]*sockWriter, len(conns))
	for i, c := range conns {
		socks[i] = newSockWriter(c, ch.paths[i], ch.protobuf())
		socks[i].start(socketTick)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A stop (SIGTERM, or another worker's failure) must not leave a
	// worker blocked writing to a destination that stopped reading.
	stopWrites := context.AfterFunc(ctx, func() {
		for _, s := range socks {
			s.conn.SetWriteDeadline(time.Now())
		}
	})
	defer stopWrites()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for _, sock := range socks {
		wg.Go(func() {
			for ctx.Err() == nil {
				j := next.Add(1) - 1
				if j >= int64(len(jobs)) {
					return
				}
				if err := jobs[j](ctx, sock); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel() // stop the other workers
					return
				}
			}
		})
	}
	wg.Wait()
	for _, s := range socks {
		if cerr := s.close(firstErr == nil); firstErr == nil && cerr != nil {
			firstErr = cerr
		}
	}
	return firstErr
}

// plan builds the jobs of a read: one per partition, plus one job for all
// plain streams in catalog order, placed where the first of them is.
func (rs *readSession) plan(ctx context.Context, cat *protocol.ConfiguredCatalog, byDesc map[protocol.StreamDescriptor]Stream, n int) ([]readJob, error) {
	var jobs []readJob
	var plain []*streamRun
	for i := range cat.Streams {
		cs := &cat.Streams[i]
		d := cs.Stream.Descriptor()
		run := &streamRun{desc: d, req: rs.readRequest(cs), stream: byDesc[d]}
		if rs.protoCat != nil {
			run.schema = rs.protoCat.Schema(d)
		}
		p, ok := run.stream.(Partitioned)
		if !ok {
			if plain == nil {
				// The job reads the final plain slice: the closure
				// captures the variable, and planning ends before any
				// job runs.
				jobs = append(jobs, func(ctx context.Context, sock *sockWriter) error {
					for _, run := range plain {
						if err := rs.runPartition(ctx, run, sock, run.stream.Read); err != nil {
							return err
						}
					}
					return nil
				})
			}
			run.remaining.Store(1)
			plain = append(plain, run)
			continue
		}
		parts, err := p.Partitions(ctx, run.req, n)
		if err != nil {
			return nil, &Error{FailureType: FailureType(err), Stream: &d,
				Message: fmt.Sprintf("stream %s: partition the read: %v", d, err), Err: err}
		}
		if len(parts) == 0 {
			parts = []Partition{PartitionFunc(func(context.Context, *Emitter) error { return nil })}
		}
		run.partitioned = true
		run.remaining.Store(int64(len(parts)))
		for _, part := range parts {
			jobs = append(jobs, func(ctx context.Context, sock *sockWriter) error {
				return rs.runPartition(ctx, run, sock, func(ctx context.Context, _ *ReadRequest, e *Emitter) error {
					return part.Read(ctx, e)
				})
			})
		}
	}
	return jobs, nil
}

// runPartition reads one partition of run onto sock, between the stream's
// STARTED status (sent by its first partition) and its COMPLETE status
// (sent by its last), or INCOMPLETE when a partition fails.
func (rs *readSession) runPartition(ctx context.Context, run *streamRun, sock *sockWriter,
	read func(context.Context, *ReadRequest, *Emitter) error) error {
	run.start.Do(func() { run.startErr = rs.socketStatus(sock, run.desc, protocol.StreamStarted, false) })
	if run.startErr != nil {
		return run.startErr
	}
	e := rs.newSocketEmitter(run, sock)
	err := read(ctx, run.req, e)
	if err == nil {
		err = e.finish()
	}
	run.records.Add(e.total)
	if err != nil {
		if run.failed.CompareAndSwap(false, true) {
			_ = rs.socketStatus(sock, run.desc, protocol.StreamIncomplete, true)
		}
		return rs.streamError(ctx, run.desc, err)
	}
	if run.remaining.Add(-1) > 0 || run.failed.Load() {
		return nil
	}
	// The last partition: every stream ends with at least one state.
	if run.states.Load() == 0 {
		if err := e.Checkpoint(e.last); err != nil {
			return err
		}
	}
	rs.r.log.Info("stream done", "stream", run.desc.String(), "records", run.records.Load())
	return rs.socketStatus(sock, run.desc, protocol.StreamComplete, true)
}

// socketStatus writes a stream status to stdout and to sock.
func (rs *readSession) socketStatus(sock *sockWriter, d protocol.StreamDescriptor, status string, flush bool) error {
	line, err := json.Marshal(protocol.NewStreamStatus(d, status, rs.r.out.millis()))
	if err != nil {
		return err
	}
	if err := rs.r.out.writeLine(line); err != nil {
		return err
	}
	if flush {
		if err := rs.r.out.flush(); err != nil {
			return err
		}
	}
	return sock.message(line)
}
