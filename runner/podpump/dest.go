package podpump

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// writeLine writes one record and its newline to the destination, and
// reports whether it was written (not dropped).
func (p *Pump) writeLine(line []byte) bool {
	p.dstMu.Lock()
	defer p.dstMu.Unlock()
	if !p.writable() || p.halted.Load() {
		return false
	}
	_, err := p.dst.Write(line)
	if err == nil {
		err = p.dst.WriteByte('\n')
	}
	p.failed(err)
	return true
}

// write writes Ferry's bytes (DownWrite) to the destination.
func (p *Pump) write(b []byte) {
	p.dstMu.Lock()
	defer p.dstMu.Unlock()
	if p.writable() {
		_, err := p.dst.Write(b)
		p.failed(err)
	}
}

// flush sends what waits in the buffer to the destination.
func (p *Pump) flush() {
	p.dstMu.Lock()
	defer p.dstMu.Unlock()
	if p.writable() && p.dst.Buffered() > 0 {
		p.failed(p.dst.Flush())
	}
}

// writable reports whether the destination may still be written to.
// Records after its end, or after a failed write, are dropped: Ferry
// fails the attempt for it.
func (p *Pump) writable() bool {
	return !p.gone.Load() && !p.closed && p.dstErr == nil
}

// failed records a write error and tells Ferry, unless the destination
// is gone already (Ferry knows).
func (p *Pump) failed(err error) {
	if err == nil || p.dstErr != nil {
		return
	}
	p.dstErr = err
	if p.gone.Load() {
		return
	}
	b, _ := json.Marshal(&Fault{Origin: "destination", Input: true, //nolint:errchkjson // strings
		Message: err.Error(), BrokenPipe: errors.Is(err, syscall.EPIPE)})
	p.out.Send(UpFault, b) //nolint:errcheck // see send
}

// closeInput ends the destination's input (DownClose).
func (p *Pump) closeInput() {
	p.dstMu.Lock()
	defer p.dstMu.Unlock()
	if p.closed {
		return
	}
	if p.writable() && p.dst.Buffered() > 0 {
		p.failed(p.dst.Flush())
	}
	p.closed = true
	p.Destination.Close()
	if p.Unread != nil {
		go p.watchDrained()
	}
}

// drainPoll is how often the pump looks whether the destination has read
// its ended input to the last byte.
const drainPoll = 10 * time.Millisecond

// watchDrained waits, once the destination's input has ended, until the
// destination has read every byte of it, then answers UpUnread (0)
// before Ferry asks, and lets the pump end. Nothing signals a FIFO
// becoming empty, so it looks every drainPoll. A destination that exits
// leaving bytes unread is answered at DownDestinationEnded instead.
func (p *Pump) watchDrained() {
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for {
		select {
		case <-p.ctlDone:
			return
		case <-p.ended:
			return
		case <-t.C:
		}
		n, err := p.Unread()
		if err != nil || n > 0 {
			if err != nil {
				return
			}
			continue
		}
		if p.answered.CompareAndSwap(false, true) {
			p.out.Send(UpUnread, []byte("0")) //nolint:errcheck // see send
			close(p.drained)
		}
		return
	}
}

// destinationEnded answers DownDestinationEnded: how many bytes the
// destination left unread, then drops everything after. It does not
// take the writer's lock, which a write blocked on the destination holds:
// closing the destination's stdin wakes that write.
func (p *Pump) destinationEnded() {
	n := -1
	if p.Unread != nil {
		if u, err := p.Unread(); err == nil {
			n = u
		}
	}
	if p.answered.CompareAndSwap(false, true) {
		p.out.Send(UpUnread, strconv.AppendInt(nil, int64(n), 10)) //nolint:errcheck // see send
	}
	p.gone.Store(true)
	p.Destination.Close()
}

// blockWatch tells Ferry when a write to the destination blocks for
// BlockedAfter and when it returns, so Ferry's destination timeout (G8)
// measures the pod's writes as it measures its own.
type blockWatch struct {
	p *Pump
	w io.Writer
}

func (b *blockWatch) Write(buf []byte) (int, error) {
	var (
		mu            sync.Mutex
		done, blocked bool
	)
	t := timeAfter(b.p.BlockedAfter, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			blocked = true
			b.p.out.Send(UpBlocked, nil) //nolint:errcheck // see send
		}
	})
	n, err := b.w.Write(buf)
	t.Stop()
	mu.Lock()
	done = true
	if blocked {
		b.p.out.Send(UpUnblocked, nil) //nolint:errcheck // see send
	}
	mu.Unlock()
	return n, err
}
