package runner

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// DefaultSocketConnect is how long Ferry waits for a source to listen on its
// sockets in bridged mode, as a socket-mode destination would.
const DefaultSocketConnect = 15 * time.Minute

// bridge is bridged mode's data path (docs/design.md): the source speaks
// sockets, the destination only stdio. Ferry connects to every socket,
// reads them concurrently, and writes one ordered JSONL stream that the
// stdio pump then forwards as if one source had written it:
//   - order within a partition is kept: a partition lives on one socket,
//     read by one goroutine, in order;
//   - a state goes out only after every record of its partition, and in
//     the source's id order per stream (or globally), so a cursor never
//     regresses;
//   - partition_id is stripped from records; the pump renumbers states
//     and drops their partition_id, as in stdio mode.
//
// Records are never held, only states, so memory stays bounded by the
// pending-state limit.
type bridge struct {
	a       *attempt
	format  string     // the sockets' format, JSONL or PROTOBUF
	link    bridgeLink // how Ferry reaches the sockets: directly or through the relay
	catalog *protobuf.Catalog
	connect time.Duration
	// srcExited is closed when the source's Run returned.
	srcExited <-chan struct{}
}

// dialPollInterval is how often Ferry tries the source's sockets until it
// listens.
const dialPollInterval = 50 * time.Millisecond

// bridgeItem is one message from one socket.
type bridgeItem struct {
	line      []byte
	typ       protocol.Type
	partition string
	state     *protocol.State
}

// bridgeBatch is a run of items from one socket, handed to the merger in
// one channel send: one send per record would cost more than the record.
// The lines live in one arena.
type bridgeBatch struct {
	items []bridgeItem
	arena []byte
}

// Batch limits: a batch goes to the merger when it is this full, or when
// its socket has nothing more buffered.
const (
	bridgeBatchItems = 512
	bridgeBatchBytes = 256 << 10
)

// heldState is a state waiting for its partition's records.
type heldState struct {
	id        int64
	kind      protocol.StateType
	partition string
	records   int64
	line      []byte
}

// run connects, merges and closes w at the end. It returns the error that
// ended the merge early, if any (already recorded as a failure).
func (b *bridge) run(ctx context.Context, w *io.PipeWriter) error {
	conns, err := b.dial(ctx)
	if err != nil {
		if ctx.Err() == nil {
			f := Failure{Origin: protocol.OriginSource, Type: protocol.FailureSystem, ExternalMessage: err.Error()}
			var nf *ImageNotFoundError
			if errors.As(err, &nf) {
				// The relay's image is missing: Ferry's setup, which a
				// retry cannot mend.
				f.Origin, f.Type = protocol.OriginReplication, protocol.FailureConfig
			}
			b.a.findings.fail(f)
		}
		w.CloseWithError(err)
		return err
	}
	items := make(chan *bridgeBatch, 16)
	var wg sync.WaitGroup
	errs := make(chan error, len(conns))
	for _, c := range conns {
		wg.Add(1)
		go func(c io.ReadCloser) {
			defer wg.Done()
			defer c.Close()
			if err := b.read(ctx, c, items); err != nil {
				errs <- err
			}
		}(c)
	}
	go func() { wg.Wait(); close(items) }()

	err = b.merge(items, bufio.NewWriterSize(w, pumpBufferSize))
	if err != nil {
		// Unblock the readers and drain what they still send.
		for _, c := range conns {
			c.Close()
		}
		for range items {
		}
	}
	select {
	case rerr := <-errs:
		// A read that ended because Ferry is stopping the source is not
		// the source's failure.
		if err == nil && ctx.Err() == nil {
			err = rerr
			b.a.findings.fail(Failure{Origin: protocol.OriginSource, Type: protocol.FailureSystem, ExternalMessage: "reading the source's sockets: " + rerr.Error()})
		}
	default:
	}
	w.CloseWithError(err)
	return err
}

// bridgeLink is how Ferry reaches the source's sockets: a directory it
// shares with the source (linkDirect) or the relay container (relayLink).
type bridgeLink interface {
	// sockets is how many there are.
	sockets() int
	// try connects to socket i once. ok is false while the source does
	// not listen yet; err means it never will (the relay is gone).
	try(i int) (c io.ReadCloser, ok bool, err error)
	// name names socket i in messages.
	name(i int) string
}

// linkDirect dials the sockets in a directory Ferry shares with the
// source.
type linkDirect struct{ paths []string }

func (l linkDirect) sockets() int      { return len(l.paths) }
func (l linkDirect) name(i int) string { return filepath.Base(l.paths[i]) }
func (l linkDirect) try(i int) (io.ReadCloser, bool, error) {
	c, err := net.Dial("unix", l.paths[i])
	return c, err == nil, nil
}

// dial connects to every socket, polling until the source listens.
func (b *bridge) dial(ctx context.Context) ([]io.ReadCloser, error) {
	clk := b.a.clock
	deadline := clk.Now().Add(b.connect)
	if b.connect <= 0 {
		deadline = clk.Now().Add(100 * 365 * 24 * time.Hour) // disabled
	}
	conns := make([]io.ReadCloser, 0, b.link.sockets())
	fail := func(err error) ([]io.ReadCloser, error) {
		for _, c := range conns {
			c.Close()
		}
		return nil, err
	}
	// The poll interval is not a limit, so it runs on real time: a test
	// that holds the clock still still sees the source start listening.
	poll := time.NewTicker(dialPollInterval)
	defer poll.Stop()
	for i := range b.link.sockets() {
		for {
			c, ok, err := b.link.try(i)
			if err != nil {
				return fail(err)
			}
			if ok {
				conns = append(conns, c)
				break
			}
			if clk.Now().After(deadline) {
				return fail(fmt.Errorf("the source never listened on %s within %s (bridged mode)", b.link.name(i), b.connect))
			}
			select {
			case <-ctx.Done():
				return fail(ctx.Err())
			case <-b.srcExited:
				// The source ended without listening: its exit status and
				// traces say why; waiting longer cannot help.
				return fail(fmt.Errorf("the source exited before listening on %s (bridged mode)", b.link.name(i)))
			case <-poll.C:
			}
		}
	}
	return conns, nil
}

// read turns one socket's frames into items.
func (b *bridge) read(ctx context.Context, c io.Reader, items chan<- *bridgeBatch) error {
	batch := &bridgeBatch{arena: make([]byte, 0, bridgeBatchBytes)}
	// starts holds each item's arena offset: the arena may grow (a line
	// longer than the batch), so slices are taken only at hand-over.
	var starts []int
	handOver := func() error {
		if len(batch.items) == 0 {
			return nil
		}
		for i := range batch.items {
			end := len(batch.arena)
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			batch.items[i].line = batch.arena[starts[i]:end:end]
		}
		select {
		case items <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
		batch = &bridgeBatch{arena: make([]byte, 0, bridgeBatchBytes)}
		starts = starts[:0]
		return nil
	}
	send := func(line []byte, idle bool) error {
		if len(bytes.TrimSpace(line)) == 0 {
			if idle {
				return handOver()
			}
			return nil // a JSONL probe
		}
		env, err := protocol.ScanEnvelope(line)
		if err != nil {
			return fmt.Errorf("a non-protocol line on a socket: %w", err)
		}
		it := bridgeItem{typ: env.Type, partition: env.PartitionID}
		if env.Type == protocol.TypeState {
			m, err := protocol.Decode(line)
			if err != nil {
				return fmt.Errorf("an invalid STATE on a socket: %w", err)
			}
			it.state = m.State
			it.partition = m.State.PartitionID
		}
		starts = append(starts, len(batch.arena))
		batch.arena = append(batch.arena, line...)
		batch.items = append(batch.items, it)
		if idle || len(batch.items) >= bridgeBatchItems || len(batch.arena) >= bridgeBatchBytes {
			return handOver()
		}
		return nil
	}
	if b.format == protocol.FormatProtobuf {
		return b.readProtobuf(c, send, handOver)
	}
	r := protocol.NewReader(c, b.a.maxLine)
	for {
		line, err := r.ReadLine()
		if err == io.EOF {
			return handOver()
		}
		if err != nil {
			return err
		}
		if err := send(line, r.Buffered() == 0); err != nil {
			return err
		}
	}
}

// readProtobuf reads one PROTOBUF socket, turning each frame back into
// its JSONL line for the stdio destination.
func (b *bridge) readProtobuf(c io.Reader, send func([]byte, bool) error, handOver func() error) error {
	r := protobuf.NewReader(c, 0)
	var line []byte
	for {
		frame, err := r.ReadFrame()
		if err == io.EOF {
			return handOver()
		}
		if err != nil {
			return err
		}
		line, err = b.catalog.AppendMessageJSON(line[:0], frame)
		if errors.Is(err, protobuf.ErrProbe) {
			line = line[:0]
		} else if err != nil {
			return err
		}
		if err := send(line, r.Buffered() == 0); err != nil {
			return err
		}
	}
}

// merger orders the merged stream: records go out at once, states when
// their partition's records are out and every earlier id of their stream
// (or of the global state) is out too.
type merger struct {
	b         *bridge
	w         *bufio.Writer
	forwarded map[string]int64 // records per partition since its last state
	held      map[protocol.StreamDescriptor][]heldState
	next      map[protocol.StreamDescriptor]int64
	nHeld     int
}

// merge writes the batches in arrival order.
func (b *bridge) merge(batches <-chan *bridgeBatch, w *bufio.Writer) error {
	m := &merger{b: b, w: w, forwarded: make(map[string]int64),
		held: make(map[protocol.StreamDescriptor][]heldState), next: make(map[protocol.StreamDescriptor]int64)}
	for batch := range batches {
		for i := range batch.items {
			if err := m.item(&batch.items[i]); err != nil {
				return err
			}
		}
		if len(batches) == 0 && w.Buffered() > 0 {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	m.finish()
	return w.Flush()
}

func (m *merger) write(line []byte) error {
	if _, err := m.w.Write(line); err != nil {
		return err
	}
	return m.w.WriteByte('\n')
}

func (m *merger) item(it *bridgeItem) error {
	switch it.typ {
	case protocol.TypeRecord:
		if err := m.write(stripPartition(it.line)); err != nil {
			return err
		}
		m.forwarded[it.partition]++
		// A record may complete a held state's partition.
		if m.nHeld > 0 {
			for key := range m.held {
				if err := m.release(key); err != nil {
					return err
				}
			}
		}
	case protocol.TypeState:
		st := it.state
		key := globalKey
		if st.Kind() == protocol.StateStream && st.Stream != nil {
			key = st.Stream.StreamDescriptor
		}
		h := heldState{kind: st.Kind(), partition: it.partition, line: append([]byte(nil), it.line...)}
		if st.ID != nil {
			h.id = *st.ID
		}
		if st.SourceStats != nil && st.SourceStats.RecordCount != nil {
			h.records = int64(*st.SourceStats.RecordCount)
		}
		if m.nHeld >= DefaultMaxPendingStates {
			return errors.New("too many states wait for their partitions' records")
		}
		q := append(m.held[key], h)
		sort.SliceStable(q, func(i, j int) bool { return q[i].id < q[j].id })
		m.held[key] = q
		m.nHeld++
		return m.release(key)
	default:
		// Stream statuses travel on the sockets too; in bridged mode Ferry
		// sends COMPLETE itself after the source's clean exit.
	}
	return nil
}

// release writes the states of key that are due.
func (m *merger) release(key protocol.StreamDescriptor) error {
	for q := m.held[key]; len(q) > 0; q = m.held[key] {
		h := q[0]
		// Source ids run from 1 without gaps (docs/protocol.md 5.6): state N goes
		// out only after N-1, so a cursor never regresses.
		want := m.next[key]
		if want == 0 {
			want = 1
		}
		if (h.id != 0 && h.id != want) || m.forwarded[h.partition] < h.records {
			return nil
		}
		if err := m.write(h.line); err != nil {
			return err
		}
		if m.forwarded[h.partition] -= h.records; m.forwarded[h.partition] == 0 {
			delete(m.forwarded, h.partition) // the kit opens a new partition per state (G10)
		}
		if h.id != 0 {
			m.next[key] = h.id + 1
		}
		if len(q) == 1 {
			delete(m.held, key)
		} else {
			m.held[key] = q[1:]
		}
		m.nHeld--
	}
	return nil
}

// finish reports states still held at the end: they lack records their
// source counted, or wait behind a missing id, so records may be lost. In
// strict mode the attempt fails (and the source gets no COMPLETE).
func (m *merger) finish() {
	for key, q := range m.held {
		for _, h := range q {
			msg := fmt.Sprintf("state id %d of %s never became complete (partition %q: %d of its %d records arrived); it was not forwarded",
				h.id, describeKey(h.kind, key), h.partition, m.forwarded[h.partition], h.records)
			if m.b.a.cfg.Lenient {
				m.b.a.findings.warn("%s", msg)
			} else {
				m.b.a.findings.fail(Failure{Origin: protocol.OriginSource, Type: protocol.FailureSystem, ExternalMessage: msg})
			}
		}
	}
}

// stripPartition removes partition_id from a record line: stdio
// destinations must not see it (docs/protocol.md 4.2).
func stripPartition(line []byte) []byte {
	start, end, ok := protocol.MemberSpan(line, "record")
	if !ok {
		return line
	}
	rec := line[start:end]
	ps, pe, ok := protocol.MemberSpan(rec, "partition_id")
	if !ok {
		return line
	}
	// Remove the member with its key and one adjacent comma.
	ks := bytes.LastIndex(rec[:ps], []byte(`"partition_id"`))
	if ks < 0 {
		return line
	}
	cut0, cut1 := ks, pe
	if i := bytes.IndexByte(rec[cut1:], ','); i >= 0 && len(bytes.TrimSpace(rec[cut1:cut1+i])) == 0 {
		cut1 += i + 1
	} else if j := bytes.LastIndexByte(rec[:cut0], ','); j >= 0 && len(bytes.TrimSpace(rec[j+1:cut0])) == 0 {
		cut0 = j
	}
	out := make([]byte, 0, len(line))
	out = append(out, line[:start]...)
	out = append(out, rec[:cut0]...)
	out = append(out, rec[cut1:]...)
	return append(out, line[end:]...)
}

// bridgeDir makes the host directory the source listens in, reachable by
// Ferry; Docker bind-mounts it at SocketDir.
func bridgeDir() (string, func(), error) {
	dir, err := os.MkdirTemp("", "ferry-bridge-")
	if err != nil {
		return "", nil, err
	}
	if err := os.Chmod(dir, 0o1777); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}
