package cdk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// socketIntake is the Intake of socket mode: every socket is read
// concurrently by its own reader goroutine, which frames and parses its
// messages into batches (so parsing, and for PROTOBUF the conversion to
// JSON, runs in parallel) and hands them over one channel. Batches of one
// socket stay in order; batches of different sockets interleave, which the
// checkpoint manager allows for: it counts records per partition, not by
// position (docs/protocol.md 6.2).
//
// Who closes what: the intake owns the connections. Close closes them all,
// which also unblocks any reader stuck in a read, and waits for the
// readers. The write command calls it when the pipeline returns.
type socketIntake struct {
	out   chan sockBatch
	done  chan struct{}
	conns []*net.UnixConn
	wg    sync.WaitGroup
	open  int // readers not at EOF yet; only Next touches it
	once  sync.Once
}

// sockBatch is what a reader hands over: a batch, an error, or its EOF.
type sockBatch struct {
	b   *InputBatch
	err error
	eof bool
}

// socketFormat is how the sockets are framed.
type socketFormat struct {
	// cat: PROTOBUF frames of at most maxMsg bytes (<= 0: Airbyte's 256
	// MiB); nil: JSONL lines of at most maxLine bytes.
	cat             *protobuf.Catalog
	maxLine, maxMsg int
	// keepProto hands protobuf records over unconverted (ProtobufRecords).
	keepProto bool
	// unread hands records over without their bytes (RecordsUnread).
	unread bool
}

// newSocketIntake starts one reader per connection.
func newSocketIntake(conns []*net.UnixConn, paths []string, f socketFormat) *socketIntake {
	in := &socketIntake{out: make(chan sockBatch, 2*len(conns)), done: make(chan struct{}), conns: conns, open: len(conns)}
	for i, c := range conns {
		in.wg.Go(func() { in.read(c, paths[i], f) })
	}
	return in
}

// read is one socket's reader goroutine.
func (in *socketIntake) read(conn *net.UnixConn, path string, f socketFormat) {
	cat, maxLine, maxMsg := f.cat, f.maxLine, f.maxMsg
	p := msgParser{socket: true, cat: cat, keepProto: f.keepProto, unread: f.unread}
	var next func() ([]byte, error)
	var buffered func() int
	var parse func(*InputBatch, []byte) error
	if cat != nil {
		br := bufio.NewReaderSize(conn, 64<<10) // protobuf.Reader reuses it
		pr := protobuf.NewReader(br, maxMsg)
		next, buffered, parse = pr.ReadFrame, br.Buffered, p.frame
		p.where = func() string { return fmt.Sprintf("socket %s, message %d", path, pr.MessageNumber()) }
	} else {
		lr := protocol.NewReader(conn, maxLine)
		next, buffered, parse = lr.ReadLine, lr.Buffered, p.line
		p.where = func() string { return fmt.Sprintf("socket %s, line %d", path, lr.LineNumber()) }
	}
	var pool sync.Pool
	pool.New = newBatchFunc(&pool)
	for {
		b := pool.Get().(*InputBatch)
		eof := false
		var err error
		for len(b.Inputs) < intakeBatchInputs && len(b.arena) < intakeBatchBytes {
			if len(b.Inputs) > 0 && buffered() == 0 {
				break // the next read would block: hand over what we have
			}
			var msg []byte
			if msg, err = next(); err != nil {
				break
			}
			if err = parse(b, msg); err != nil {
				break
			}
		}
		switch {
		case errors.Is(err, io.EOF):
			eof, err = true, nil
		case err != nil:
			b.Release()
			in.send(sockBatch{err: socketReadError(path, err)})
			return
		}
		if len(b.Inputs) > 0 {
			if !in.send(sockBatch{b: b}) {
				return
			}
		} else {
			b.Release()
		}
		if eof {
			in.send(sockBatch{eof: true})
			return
		}
	}
}

// send hands r over, unless the intake was closed (then r is dropped).
func (in *socketIntake) send(r sockBatch) bool {
	select {
	case in.out <- r:
		return true
	case <-in.done:
		if r.b != nil {
			r.b.Release()
		}
		return false
	}
}

// socketReadError explains a failed read.
func socketReadError(path string, err error) error {
	var kitErr *Error
	var tooLong *protocol.LineTooLongError
	var tooLarge *protobuf.MessageTooLargeError
	switch {
	case errors.As(err, &kitErr):
		return err // a parse error, already positioned
	case errors.As(err, &tooLong), errors.As(err, &tooLarge):
		return SystemError("socket %s: %v", path, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return SystemError("socket %s: the source closed the socket in the middle of a message", path)
	}
	return SystemError("socket %s: read: %v", path, err)
}

// Next returns the next batch from any socket, and io.EOF once every
// socket reached its end.
func (in *socketIntake) Next(ctx context.Context) (*InputBatch, error) {
	for in.open > 0 {
		select {
		case r := <-in.out:
			switch {
			case r.err != nil:
				return nil, r.err
			case r.eof:
				in.open--
			default:
				return r.b, nil
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return nil, io.EOF
}

// Close closes every connection and waits for the readers to stop.
func (in *socketIntake) Close() {
	in.once.Do(func() {
		close(in.done)
		for _, c := range in.conns {
			c.Close()
		}
		in.wg.Wait()
	})
}
