package podpump

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// Pump is one attempt's in-pod pump.
type Pump struct {
	// Source is the source's stdout.
	Source io.Reader
	// Destination is the destination's stdin.
	Destination io.WriteCloser
	// Unread returns the bytes written to Destination and not read; nil
	// when it cannot be known.
	Unread func() (int, error)
	// SourceEnded is called at DownSourceEnded: the source's output
	// must then end once read to the last byte (see OpenSource).
	SourceEnded func()
	// Control carries Ferry's frames; Out the pump's.
	Control io.Reader
	Out     io.Writer
	// BlockedAfter is how long a write to the destination blocks before
	// the pump tells Ferry (UpBlocked); 0 means one second. Ferry's
	// destination timeout is measured from there.
	BlockedAfter time.Duration

	out  *Writer
	plan Plan
	idx  map[protocol.StreamDescriptor]int

	// dstMu guards the destination's writer and what follows.
	dstMu sync.Mutex
	dst   *bufio.Writer
	gone  atomic.Bool // DownDestinationEnded: write nothing more
	// halted is set at DownHalt: Ferry stopped the attempt's data path,
	// so no record may reach the destination any more.
	halted atomic.Bool
	closed bool // DownClose
	dstErr error

	resume  chan struct{}
	ctlDone chan struct{}
	// drained is closed once the destination has read every byte of its
	// ended input (see watchDrained); answered once UpUnread was sent.
	drained  chan struct{}
	answered atomic.Bool
	// ended is closed when Run returns.
	ended  chan struct{}
	ctlErr error

	counts []counter
	dirty  []int
	last   lastRule
}

type counter struct{ records, bytes int64 }

type lastRule struct {
	name, namespace string
	i               int
	ok              bool
}

// timeAfter is time.AfterFunc, a variable for tests.
var timeAfter = time.AfterFunc

// dstBufferSize is the destination writer's buffer: records go out in
// writes of this size, or sooner when the source has nothing buffered.
const dstBufferSize = 256 << 10

// errControlEnded is why the pump stops when Ferry's frames end early.
var errControlEnded = errors.New("the control stream from Ferry ended before the source's output")

// Run reads the plan, forwards the source's output to its end, and
// returns once Ferry's control stream has ended.
func (p *Pump) Run() error {
	p.ended = make(chan struct{})
	defer close(p.ended)
	p.out = NewWriter(p.Out)
	ctl := NewReader(p.Control)
	kind, payload, err := ctl.Next()
	if err != nil {
		return fmt.Errorf("reading the plan: %w", err)
	}
	if kind != DownPlan {
		return fmt.Errorf("the first frame is %q, not the plan", kind)
	}
	if err := p.setPlan(payload); err != nil {
		return err
	}
	if p.BlockedAfter <= 0 {
		p.BlockedAfter = time.Second
	}
	p.dst = bufio.NewWriterSize(&blockWatch{p: p, w: p.Destination}, dstBufferSize)
	p.resume = make(chan struct{}, 1)
	p.ctlDone = make(chan struct{})
	p.drained = make(chan struct{})
	go p.control(ctl)
	if err := p.forward(); err != nil {
		return err
	}
	// The pump is done when Ferry says so, or as soon as the destination
	// has read all of its input: nothing is left for the pump to do, and
	// ending with the destination rather than after it saves the pod a
	// status round of its own.
	select {
	case <-p.ctlDone:
	case <-p.drained:
		return nil
	}
	if p.ctlErr != nil && !errors.Is(p.ctlErr, io.EOF) {
		return fmt.Errorf("reading Ferry's frames: %w", p.ctlErr)
	}
	return nil
}

func (p *Pump) setPlan(payload []byte) error {
	if err := json.Unmarshal(payload, &p.plan); err != nil {
		return fmt.Errorf("the plan: %w", err)
	}
	if p.plan.MaxLine <= 0 {
		p.plan.MaxLine = protocol.DefaultMaxLineBytes
	}
	p.idx = make(map[protocol.StreamDescriptor]int, len(p.plan.Rules))
	for i, r := range p.plan.Rules {
		if r == nil {
			return fmt.Errorf("the plan: rule %d is null", i)
		}
		r.Prepare()
		p.idx[r.Source] = i
	}
	p.counts = make([]counter, len(p.plan.Rules))
	return nil
}

// control reads Ferry's frames until their stream ends. It never blocks
// on the destination: what writes to it (DownWrite, DownClose) and what
// must follow those writes (DownResume) go to the writer goroutine in
// order, while DownDestinationEnded, which wakes a write blocked on a
// destination that is gone, is handled at once.
func (p *Pump) control(ctl *Reader) {
	defer close(p.ctlDone)
	q := &opQueue{wake: make(chan struct{}, 1)}
	go p.applyOps(q)
	for {
		kind, payload, err := ctl.Next()
		if err == nil && !knownDown(kind) {
			err = fmt.Errorf("unknown frame %q", kind)
		}
		if err != nil {
			p.ctlErr = err
			q.push(op{kind: opEnd}) // a forward waiting for a resume stops
			return
		}
		switch kind {
		case DownWrite:
			q.push(op{kind: kind, b: append([]byte(nil), payload...)})
		case DownResume, DownClose:
			q.push(op{kind: kind})
		case DownHalt:
			p.halted.Store(true)
		case DownSourceEnded:
			if p.SourceEnded != nil {
				p.SourceEnded()
			}
		case DownDestinationEnded:
			p.destinationEnded()
		}
	}
}

func knownDown(kind byte) bool {
	switch kind {
	case DownWrite, DownResume, DownClose, DownHalt, DownSourceEnded, DownDestinationEnded:
		return true
	}
	return false
}

// opEnd ends the writer goroutine: Ferry's frames have ended.
const opEnd byte = 0

// op is one of Ferry's operations on the destination.
type op struct {
	kind byte
	b    []byte
}

// opQueue holds the operations the writer has yet to apply; it never
// blocks the control goroutine.
type opQueue struct {
	mu   sync.Mutex
	ops  []op
	wake chan struct{}
}

func (q *opQueue) push(o op) {
	q.mu.Lock()
	q.ops = append(q.ops, o)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *opQueue) pop() (op, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.ops) == 0 {
		return op{}, false
	}
	o := q.ops[0]
	q.ops = q.ops[1:]
	return o, true
}

// applyOps applies Ferry's operations in their order.
func (p *Pump) applyOps(q *opQueue) {
	for {
		o, ok := q.pop()
		if !ok {
			<-q.wake
			continue
		}
		switch o.kind {
		case DownWrite:
			p.write(o.b)
		case DownResume:
			p.resume <- struct{}{}
		case DownClose:
			p.closeInput()
		case opEnd:
			select {
			case p.resume <- struct{}{}:
			default:
			}
			return
		}
	}
}

// forward reads the source's output to its end.
func (p *Pump) forward() error {
	r := protocol.NewReader(p.Source, p.plan.MaxLine)
	// Before the pump blocks on the source, the destination gets what
	// waits and Ferry the counts: records reach the destination without
	// delay, and Ferry sees the progress.
	r.SetBeforeFill(func() {
		p.flush()
		p.sendCounts()
	})
	var scan protocol.EnvelopeScanner
	faulted := false
	for {
		line, err := r.ReadLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			var tl *protocol.LineTooLongError
			if errors.As(err, &tl) {
				p.fault(LineTooLongFault(tl))
			} else {
				p.fault(&Fault{Origin: protocol.OriginReplication, Message: fmt.Sprintf("reading the source's output: %v", err)})
			}
			// The reader cannot go on past an error: drain the rest.
			io.Copy(io.Discard, p.Source) //nolint:errcheck // draining only
			break
		}
		if faulted || Blank(line) {
			continue
		}
		env, err := scan.Scan(line)
		switch {
		case err != nil:
			p.send(UpLine, line)
		case env.Type == protocol.TypeRecord:
			if f := p.record(&env); f != nil {
				p.fault(f)
				faulted = true
			}
		case env.Type == protocol.TypeState:
			if err := p.state(line); err != nil {
				return err
			}
		default:
			p.send(UpLine, line)
		}
	}
	p.flush()
	p.sendCounts()
	return p.out.Send(UpEnd, nil)
}

// record forwards one RECORD line, or returns why it cannot.
func (p *Pump) record(env *protocol.Envelope) *Fault {
	i, ok := p.last.i, p.last.ok
	if !ok || env.Stream != p.last.name || env.Namespace != p.last.namespace {
		if env.Stream == "" {
			p.note(Note{Warn: true, Message: NoStreamWarning})
			return nil
		}
		d := env.Descriptor()
		if i, ok = p.idx[d]; !ok {
			if p.plan.DropUnknown {
				p.note(Note{Message: DroppedUnknownNote(d)})
				return nil
			}
			return UnknownStreamFault(d)
		}
		p.last = lastRule{name: env.Stream, namespace: env.Namespace, i: i, ok: true}
	}
	out := env.Raw
	if rule := p.plan.Rules[i]; rule.Touches() {
		var f *Fault
		if out, f = rule.Apply(env.Raw); f != nil {
			return f
		}
	}
	// Only records that went to the destination count: after its end,
	// or after Ferry halted, they are dropped.
	if !p.writeLine(out) {
		return nil
	}
	c := &p.counts[i]
	if c.records == 0 && c.bytes == 0 {
		p.dirty = append(p.dirty, i)
	}
	c.records++
	c.bytes += int64(len(out))
	return nil
}

// state hands a STATE line to Ferry once every record before it is in
// the destination's stdin, and waits until Ferry has written what goes
// with it.
func (p *Pump) state(line []byte) error {
	p.flush()
	p.sendCounts()
	if err := p.out.Send(UpState, line); err != nil {
		return err
	}
	<-p.resume
	if p.ctlErr != nil {
		return errControlEnded
	}
	return nil
}

func (p *Pump) send(kind byte, payload []byte) {
	p.sendCounts()
	p.out.Send(kind, payload) //nolint:errcheck // a dead stdout ends the pump with its control stream
}

func (p *Pump) note(n Note) {
	b, _ := json.Marshal(n) //nolint:errchkjson // strings
	p.send(UpNote, b)
}

func (p *Pump) fault(f *Fault) {
	b, _ := json.Marshal(f) //nolint:errchkjson // strings
	p.flush()
	p.send(UpFault, b)
}

// sendCounts reports the records forwarded since the last counts.
func (p *Pump) sendCounts() {
	if len(p.dirty) == 0 {
		return
	}
	b := make([]byte, 0, 16+24*len(p.dirty))
	b = append(b, '[')
	for n, i := range p.dirty {
		if n > 0 {
			b = append(b, ',')
		}
		c := p.counts[i]
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, c.records, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, c.bytes, 10)
		b = append(b, ']')
		p.counts[i] = counter{}
	}
	b = append(b, ']')
	p.dirty = p.dirty[:0]
	p.out.Send(UpCounts, b) //nolint:errcheck // see send
}
