package runner

import (
	"errors"
	"fmt"
	"io"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner/podpump"
)

// fatalError fails the attempt and stops the pump.
type fatalError struct{ f Failure }

func (e *fatalError) Error() string { return e.f.ExternalMessage }

// faultError is the pump error of a fault the shared rules found.
func faultError(f *podpump.Fault) error {
	return &fatalError{Failure{Origin: f.Origin, Type: protocol.FailureSystem, ExternalMessage: f.Message}}
}

func fatalf(origin, format string, args ...any) error {
	return &fatalError{Failure{Origin: origin, Type: protocol.FailureSystem, ExternalMessage: fmt.Sprintf(format, args...)}}
}

// pump reads one source output to its end and routes every message
// (route). On sourceData it forwards RECORD and STATE lines to the
// destination, as their original bytes where possible (docs/protocol.md 4.1).
type pump struct {
	a   *attempt
	out output
	dst *destinationInput // sourceData only
	// scan reads the envelopes, reusing the last record's strings and
	// header.
	scan protocol.EnvelopeScanner
	// unbooked counts forwarded records not yet booked; see book.
	unbooked  map[*streamPlan]*counter
	nUnbooked int
	// last is the stream of the previous record, its plan and counter:
	// records come in runs of one stream, and the scanner hands back the
	// same strings for them, so most records skip both map look-ups.
	last lastStream
}

type lastStream struct {
	name, namespace string
	plan            *streamPlan
	count           *counter
}

// maxUnbooked bounds how many records the pump counts locally before it
// books them in the ledger: taking its lock once per record would cost
// more than forwarding the record.
const maxUnbooked = 4096

// run reads src to EOF. It returns nil at a clean end of the source's
// output, or the error that made it stop early (already recorded).
func (p *pump) run(src io.Reader) error {
	r := protocol.NewReader(src, p.a.maxLine)
	if p.dst != nil {
		// Records go out straight from the reader's buffer (forward):
		// the run waiting there is written before the buffer changes.
		// Booking first publishes the records' progress (book), as
		// liveness wants it at every read from the source.
		r.SetBeforeFill(func() {
			p.book()
			p.dst.writeRun() //nolint:errcheck // kept in writeErr, returned by the next write
		})
	}
	defer p.book()
	for {
		if r.Buffered() == 0 {
			// The source has nothing more buffered: book, and let the
			// destination have what waits, before blocking on the source.
			p.book()
			if p.dst != nil {
				if err := p.dst.flush(); err != nil {
					return err
				}
			}
		}
		line, err := r.ReadLine()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var tl *protocol.LineTooLongError
			if errors.As(err, &tl) {
				return p.fatal(faultError(podpump.LineTooLongFault(tl)))
			}
			return p.fatal(fatalf(protocol.OriginReplication, "reading the source's output: %v", err))
		}
		if err := p.line(line); err != nil {
			return p.fatal(err)
		}
	}
}

// fatal records a pump error (unless it is a destination write failure,
// recorded already) and returns it.
func (p *pump) fatal(err error) error {
	var fe *fatalError
	if errors.As(err, &fe) {
		p.a.findings.fail(fe.f)
	}
	return err
}

func (p *pump) line(line []byte) error {
	a := p.a
	if podpump.Blank(line) {
		return nil
	}
	env, err := p.scan.Scan(line)
	if err != nil {
		a.findings.nonProtocolLine(RoleSource, line)
		return nil
	}
	if p.out == sourceBooks {
		a.live.active() // socket mode: the source's output is its sign of life
	}
	switch act := route(p.out, env.Type); act {
	case actForward:
		return p.record(&env)
	case actForwardState:
		return p.state(line)
	case actStageState:
		return p.stage(line)
	case actDropRecord:
		a.findings.droppedRecord("the source printed a RECORD on stdout in socket mode; it was dropped")
		return nil
	case actIgnore:
		return nil
	default:
		m, err := protocol.Decode(line)
		if err != nil {
			a.log.Printf(protocol.LevelWarn, "ferry", "dropped an invalid %s message from the source: %v", env.Type, err)
			return nil
		}
		a.handle(RoleSource, act, m)
		return nil
	}
}

func (p *pump) record(env *protocol.Envelope) error {
	a := p.a
	plan, c := p.last.plan, p.last.count
	if plan == nil || env.Stream != p.last.name || env.Namespace != p.last.namespace {
		if env.Stream == "" {
			a.log.Printf(protocol.LevelWarn, "ferry", podpump.NoStreamWarning)
			return nil
		}
		d := env.Descriptor()
		if plan = a.catalog.find(d); plan == nil {
			if a.cfg.DropUnknownStreams {
				a.findings.note(podpump.DroppedUnknownNote(d))
				return nil
			}
			return faultError(podpump.UnknownStreamFault(d))
		}
		c = p.counterFor(plan)
		p.last = lastStream{name: env.Stream, namespace: env.Namespace, plan: plan, count: c}
	}
	out := env.Raw
	rewritten := plan.touches
	if rewritten {
		var err error
		if out, err = rewriteRecord(plan, env.Raw); err != nil {
			return err
		}
	}
	c.records++
	c.bytes += int64(len(out))
	if p.nUnbooked++; p.nUnbooked >= maxUnbooked {
		p.book()
	}
	if rewritten {
		return p.dst.write(out)
	}
	return p.dst.forward(out)
}

// count adds records forwarded elsewhere (the in-pod pump) to the
// pump's local counts.
func (p *pump) count(plan *streamPlan, records, bytes int64) {
	c := p.counterFor(plan)
	c.records += records
	c.bytes += bytes
	p.nUnbooked += int(records)
}

// counterFor is the local counter of plan's records.
func (p *pump) counterFor(plan *streamPlan) *counter {
	c := p.unbooked[plan]
	if c == nil {
		if p.unbooked == nil {
			p.unbooked = make(map[*streamPlan]*counter)
		}
		c = &counter{}
		p.unbooked[plan] = c
	}
	return c
}

// book moves the pump's local record counts into the ledger, and into
// the progress liveness watches (one atomic add per record would cost
// more than its scan). It runs before every state (whose count needs
// them), before every read from the source, whenever the source is idle,
// and at the end.
func (p *pump) book() {
	if p.nUnbooked == 0 {
		return
	}
	p.a.live.progress.Add(int64(p.nUnbooked))
	p.a.ledger.forwarded(p.unbooked)
	p.nUnbooked = 0
}

func (p *pump) state(line []byte) error {
	m, err := protocol.Decode(line)
	if err != nil {
		return fatalf(protocol.OriginSource, "invalid STATE message from the source: %v", err)
	}
	p.a.live.progress.Add(1)
	p.book()
	out, err := p.a.ledger.forwardState(line, m)
	if errors.Is(err, errSkipState) {
		return nil
	}
	if err != nil {
		return err
	}
	return p.dst.write(out)
}

// stage books a state from the source's stdout in socket mode; an
// acknowledgement that arrived first may commit it at once.
func (p *pump) stage(line []byte) error {
	m, err := protocol.Decode(line)
	if err != nil {
		return fatalf(protocol.OriginSource, "invalid STATE message from the source: %v", err)
	}
	err = p.a.ledger.stageState(m.State)
	var ae *ackError
	if errors.As(err, &ae) {
		p.a.findings.protocolError(ae)
		err = nil
	}
	if err != nil {
		return err
	}
	p.a.commit()
	return nil
}

// rewriteRecord applies the stream's rule (dedup primary-key check,
// field selection, name mapping) to one record.
func rewriteRecord(plan *streamPlan, raw []byte) ([]byte, error) {
	out, f := plan.rule.Apply(raw)
	if f != nil {
		return nil, faultError(f)
	}
	return out, nil
}
