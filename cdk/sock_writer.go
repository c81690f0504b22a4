package cdk

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrysync/ferry/protocol/protobuf"
)

// Socket output sizing. Records are appended to one buffer per socket and
// written when it holds socketFlushBytes: one write syscall per 256 KiB
// instead of one per record, which is what makes sockets fast. Airbyte's
// source flushes at 8 KiB; larger chunks measured faster here (see the
// benchmarks in sock_bench_test.go). Anything that is not a record is
// written at once. The socket's send buffer is raised to socketSendBuffer
// (the kernel caps it at net.core.wmem_max) once the records turn out to
// be large (socketLargeRecord bytes on average over a chunk), so that
// several chunks are in flight: between two containers, 256 KiB writes of
// 5 KB records into a 1 MiB buffer cost the destination about a third
// less CPU than into the default 208 KiB, as it wakes and reads less
// often. Small records keep the default: their bytes matter less than
// their count, and a buffer the destination drains sooner stays in cache
// (faker's 100-byte records cost a few percent more with the larger one).
var (
	socketFlushBytes  = 256 << 10
	socketSendBuffer  = 1 << 20
	socketLargeRecord = 1 << 10
	// socketTick is how often an idle socket is flushed, and probed when
	// nothing at all went out since the previous tick: a destination
	// treats the probe as a heartbeat, and a failed probe tells the
	// source that the destination went away.
	socketTick = time.Second
)

// sockWriter is the source's end of one socket. Its owner (the worker
// goroutine the socket belongs to, see source_socket.go) appends messages;
// a ticker goroutine flushes and probes it when idle. The mutex guards the
// buffer between the two. The read session closes it at the end.
type sockWriter struct {
	mu     sync.Mutex
	conn   net.Conn
	path   string
	proto  bool
	buf    []byte
	err    error // the first write error; every later call returns it
	active bool  // bytes reached the socket since the previous tick
	// records counts the records in buf; raised is set once the send
	// buffer was raised for large records (or cannot be).
	records int
	raised  bool

	stop, done chan struct{}
}

func newSockWriter(conn net.Conn, path string, proto bool) *sockWriter {
	return &sockWriter{conn: conn, path: path, proto: proto, buf: make([]byte, 0, socketFlushBytes+16<<10)}
}

// start runs the idle ticker until close.
func (w *sockWriter) start(every time.Duration) {
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.tick()
			}
		}
	}()
}

// tick flushes buffered records, or probes a socket nothing went out on.
func (w *sockWriter) tick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil && len(w.buf) == 0 && !w.active {
		if w.proto {
			w.buf = append(w.buf, protobuf.ProbeFrame...)
		} else {
			w.buf = append(w.buf, '\n')
		}
	}
	_ = w.flushLocked()
	w.active = false
}

// recordJSONL appends one RECORD line: prefix is everything up to and
// including `"data":` (partition_id included, see Emitter).
func (w *sockWriter) recordJSONL(prefix, data []byte, emittedAt int64) error {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		return w.err
	}
	b := append(w.buf, prefix...)
	b = append(b, data...)
	b = append(b, `,"emitted_at":`...)
	b = strconv.AppendInt(b, emittedAt, 10)
	w.buf = append(b, "}}\n"...)
	w.records++
	var err error
	if len(w.buf) >= socketFlushBytes {
		err = w.flushLocked()
	}
	w.mu.Unlock()
	return err
}

// recordProto appends one record as a framed AirbyteMessageProtobuf whose
// values are positional by schema, converted straight into the socket
// buffer from the record's header and the JSON text of its data, so both
// formats carry exactly the same values.
func (w *sockWriter) recordProto(schema *protobuf.RecordSchema, hdr *protobuf.RecordHeader, data []byte) (protobuf.ConvertStats, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return protobuf.ConvertStats{}, w.err
	}
	b, stats, err := schema.AppendRecordFrame(w.buf, hdr, data)
	if err != nil {
		return stats, err
	}
	w.buf = b
	w.records++
	if len(w.buf) >= socketFlushBytes {
		return stats, w.flushLocked()
	}
	return stats, nil
}

// recordValues appends one record given as its values, framed.
func (w *sockWriter) recordValues(schema *protobuf.RecordSchema, hdr *protobuf.RecordHeader, v *protobuf.RecordValues) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	b, err := schema.AppendValuesFrame(w.buf, hdr, v)
	if err != nil {
		return err
	}
	w.buf = b
	w.records++
	if len(w.buf) >= socketFlushBytes {
		return w.flushLocked()
	}
	return nil
}

// message writes a message that is not a record (a state, a stream
// status) and flushes at once: JSONL as a line, PROTOBUF as
// airbyte_protocol_message holding the JSON text.
func (w *sockWriter) message(line []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.proto {
		b := protowire.AppendVarint(w.buf, uint64(1+protowire.SizeBytes(len(line))))
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		w.buf = protowire.AppendBytes(b, line)
	} else {
		w.buf = append(append(w.buf, line...), '\n')
	}
	return w.flushLocked()
}

// frame writes the wire bytes of one AirbyteMessageProtobuf with its
// length prefix, and flushes.
func (w *sockWriter) frame(msg []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.buf = append(protowire.AppendVarint(w.buf, uint64(len(msg))), msg...)
	return w.flushLocked()
}

// flush writes everything buffered.
func (w *sockWriter) flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *sockWriter) flushLocked() error {
	if w.err != nil || len(w.buf) == 0 {
		return w.err
	}
	if !w.raised && len(w.buf) >= socketFlushBytes && len(w.buf) >= w.records*socketLargeRecord {
		w.raised = true
		if uc, ok := w.conn.(*net.UnixConn); ok {
			_ = uc.SetWriteBuffer(socketSendBuffer) // best effort: a smaller one is only slower
		}
	}
	_, err := w.conn.Write(w.buf)
	w.buf, w.records = w.buf[:0], 0
	if cap(w.buf) > 4*socketFlushBytes+64<<10 {
		// A huge record grew the buffer; do not keep it for the whole run.
		w.buf = make([]byte, 0, socketFlushBytes+16<<10)
	}
	w.active = true
	if err != nil {
		w.err = SystemError("socket %s: write: %v (the destination stopped reading or went away)", w.path, err)
	}
	return w.err
}

// close stops the ticker, flushes when asked, and closes the connection,
// which the destination reads as the end of this channel. It returns the
// first write error.
func (w *sockWriter) close(flush bool) error {
	if w.stop != nil {
		close(w.stop)
		<-w.done
		w.stop = nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	if flush {
		err = w.flushLocked()
	}
	if cerr := w.conn.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("socket %s: close: %w", w.path, cerr)
	}
	if w.err == nil {
		w.err = fmt.Errorf("socket %s is closed", w.path)
	}
	return err
}
