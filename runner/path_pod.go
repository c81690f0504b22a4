package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner/podpump"
)

// PumpRuntime is a PairRuntime that can run stdio mode's pump next to the
// connectors (package podpump): on Kubernetes, a container of the
// attempt's pod between the source's stdout and the destination's stdin,
// so records never leave the pod. Ferry keeps the books from the pump's
// frames as if it pumped the records itself (README, "Stdio mode keeps the records in the pod").
//
// Contract: as RunPair, with a third member. The source's Stdio has no
// Out and the destination's no In: those are the pump's. The pump's Stdio
// carries its frames: In from Ferry, Out to Ferry. Its Exited is called
// once it has ended; it ends when its stdin does.
type PumpRuntime interface {
	PairRuntime
	RunPumped(ctx context.Context, source, destination, pump PairMember)
}

// RolePump is the in-pod pump's role.
const RolePump Role = "pump"

// pumpMemory bounds the pump's container: its buffers and the copies of
// the longest line a rewrite makes (the line, its decoded record and
// data, and their re-encodings).
func pumpMemory(maxLine int) int64 { return 64<<20 + 5*int64(maxLine) }

// podStdioPath is stdio mode on a PumpRuntime: the records go from the
// source to the destination through the pump; Ferry reads the pump's
// frames (states, logs, counts) and writes it what the destination must
// get from Ferry (numbered states, COMPLETE statuses).
type podStdioPath struct {
	a   *attempt
	ctl *podpump.Writer // the pump's stdin
	// blocked is set while the pump reports a write to the destination
	// blocked (UpBlocked): Ferry's reads then do not count as waiting on
	// the source.
	blocked atomic.Bool
	// unread receives UpUnread answers; framesDone is closed when the
	// pump's frames have ended.
	unread     chan int
	framesDone chan struct{}
	// frameBytes counts what Ferry read from the pump, for the log.
	frameBytes atomic.Int64
	run        *pumpRun
}

func (p *podStdioPath) mode() Mode {
	return Mode{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL}
}

func (p *podStdioPath) prepare(context.Context) (string, func(), error) { return "", func() {}, nil }

func (p *podStdioPath) outputIsProgress() bool  { return false }
func (p *podStdioPath) speaksSockets(Role) bool { return false }
func (p *podStdioPath) destinationCatalog(files map[string][]byte, _ map[string]string) error {
	return p.a.mappedCatalog(files)
}

func (p *podStdioPath) endInput(in *destinationInput, complete bool) error {
	return endRecordInput(p.a, in, complete)
}

// wire joins Ferry to the pump's stdin: the destination's input becomes
// frames.
func (p *podStdioPath) wire(w *wiring, toPump io.WriteCloser) {
	p.ctl = podpump.NewWriter(toPump)
	p.unread = make(chan int, 1)
	p.framesDone = make(chan struct{})
	w.input = newDestinationInput(p.a, &pumpInput{ctl: p.ctl})
}

// pumpInput is the destination's stdin as seen from Ferry: each write a
// DownWrite frame, the close a DownClose.
type pumpInput struct{ ctl *podpump.Writer }

func (in *pumpInput) Write(b []byte) (int, error) {
	if err := in.ctl.Send(podpump.DownWrite, b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (in *pumpInput) Close() error { return in.ctl.Send(podpump.DownClose, nil) }

// plan is what the pump needs of the attempt.
func (p *podStdioPath) plan() ([]byte, error) {
	a := p.a
	pl := podpump.Plan{DropUnknown: a.cfg.DropUnknownStreams, MaxLine: a.maxLine}
	for _, d := range a.catalog.order {
		pl.Rules = append(pl.Rules, a.catalog.find(d).rule)
	}
	return json.Marshal(&pl)
}

func (p *podStdioPath) forward(_ context.Context, w *wiring) error {
	a := p.a
	a.log.Printf(protocol.LevelInfo, "ferry", "records move inside the pod: the pump between the source's stdout and the destination's stdin forwards them, Ferry keeps the books")
	b, err := p.plan()
	if err == nil {
		err = p.ctl.Send(podpump.DownPlan, b)
	}
	if err != nil {
		a.findings.fail(Failure{Origin: protocol.OriginReplication, Type: protocol.FailureSystem, ExternalMessage: fmt.Sprintf("could not send the pump its plan: %v", err)})
		w.cancelSrc()
		go p.drain(podpump.NewReader(w.srcOut))
		return err
	}
	pu := &pump{a: a, out: sourceData, dst: w.input}
	fr := podpump.NewReader(&pumpReader{p: p, r: w.srcOut})
	for {
		kind, payload, rerr := fr.Next()
		if rerr != nil {
			close(p.framesDone)
			pu.book()
			why := rerr.Error()
			if msg := p.ended(); msg != "" {
				why = msg
			}
			w.cancelSrc() // nothing it writes can reach the destination now
			return pu.fatal(fatalf(protocol.OriginReplication, "the in-pod pump ended before the source's output did: %s", why))
		}
		if kind == podpump.UpEnd {
			pu.book()
			go p.drain(fr)
			return nil
		}
		if err := p.handle(pu, kind, payload); err != nil {
			pu.book()
			// As Ferry's own pump stops forwarding at its failure, no
			// record may reach the destination after it.
			p.ctl.Send(podpump.DownHalt, nil) //nolint:errcheck // a pump that is gone forwards nothing
			w.cancelSrc()
			go p.drain(fr)
			return err
		}
	}
}

// handle acts on one frame as Ferry's own pump acts on what it stands for.
func (p *podStdioPath) handle(pu *pump, kind byte, payload []byte) error {
	a := p.a
	switch kind {
	case podpump.UpCounts:
		return p.count(pu, payload)
	case podpump.UpLine:
		return pu.line(payload)
	case podpump.UpState:
		err := pu.line(payload)
		if err == nil {
			err = pu.dst.flush()
		}
		if rerr := p.ctl.Send(podpump.DownResume, nil); err == nil && rerr != nil {
			err = fatalf(protocol.OriginReplication, "could not write to the in-pod pump: %v", rerr)
		}
		return pu.fatal(err)
	case podpump.UpNote:
		var n podpump.Note
		if err := json.Unmarshal(payload, &n); err != nil {
			return pu.fatal(fatalf(protocol.OriginReplication, "the in-pod pump sent an invalid note: %v", err))
		}
		if n.Warn {
			a.log.Printf(protocol.LevelWarn, "ferry", "%s", n.Message)
		} else {
			a.findings.note(n.Message)
		}
		return nil
	case podpump.UpFault:
		var f podpump.Fault
		if err := json.Unmarshal(payload, &f); err != nil {
			return pu.fatal(fatalf(protocol.OriginReplication, "the in-pod pump sent an invalid fault: %v", err))
		}
		if f.Input {
			var err error = errors.New(f.Message)
			if f.BrokenPipe {
				err = syscall.EPIPE
			}
			a.destinationWriteFailed(err)
			return err
		}
		return pu.fatal(faultError(&f))
	case podpump.UpBlocked, podpump.UpUnblocked, podpump.UpUnread:
		p.other(kind, payload)
		return nil
	}
	return pu.fatal(fatalf(protocol.OriginReplication, "the in-pod pump sent an unknown frame %q", kind))
}

// other handles the frames that may come at any time, even after the
// source's output ended or failed.
func (p *podStdioPath) other(kind byte, payload []byte) {
	switch kind {
	case podpump.UpBlocked:
		p.blocked.Store(true)
		p.a.live.writeStarted()
	case podpump.UpUnblocked:
		p.blocked.Store(false)
		p.a.live.writeEnded()
	case podpump.UpUnread:
		n, err := strconv.Atoi(string(payload))
		if err != nil {
			n = -1
		}
		select {
		case p.unread <- n:
		default:
		}
	case podpump.UpState:
		// The attempt stopped already: let the pump go on to the end.
		p.ctl.Send(podpump.DownResume, nil) //nolint:errcheck // the pump may be gone
	}
}

// drain reads the pump's frames to their end once forward returned, for
// the answers that come later (UpUnread).
func (p *podStdioPath) drain(fr *podpump.Reader) {
	defer close(p.framesDone)
	for {
		kind, payload, err := fr.Next()
		if err != nil {
			return
		}
		p.other(kind, payload)
	}
}

// count books the records the pump forwarded.
func (p *podStdioPath) count(pu *pump, payload []byte) error {
	var list [][3]int64
	if err := json.Unmarshal(payload, &list); err != nil {
		return pu.fatal(fatalf(protocol.OriginReplication, "the in-pod pump sent invalid counts: %v", err))
	}
	order := p.a.catalog.order
	for _, c := range list {
		if c[0] < 0 || c[0] >= int64(len(order)) || c[1] < 0 || c[2] < 0 {
			return pu.fatal(fatalf(protocol.OriginReplication, "the in-pod pump sent invalid counts %v", c))
		}
		pu.count(p.a.catalog.find(order[c[0]]), c[1], c[2])
	}
	pu.book()
	return nil
}

// pumpReader is the pump's output as liveness sees it: Ferry waits on
// the source while it waits for frames, unless the pump reports a write
// to the destination blocked (the wait is then the destination's).
type pumpReader struct {
	p *podStdioPath
	r io.Reader
}

func (r *pumpReader) Read(b []byte) (int, error) {
	live := r.p.a.live
	watch := !r.p.blocked.Load()
	if watch {
		live.readStarted()
	}
	n, err := r.r.Read(b)
	if watch {
		live.readEnded()
	}
	r.p.frameBytes.Add(int64(n))
	return n, err
}

// unreadWait bounds the wait for the pump's UpUnread: it answers at once
// unless it is gone or hung, and the attempt must end either way.
const unreadWait = 30 * time.Second

// askUnread returns how many bytes of its input the destination left
// unread, -1 when unknown: the pump's answer if it gave one already (it
// does once the destination has read everything, and may have ended
// since), else its answer to DownDestinationEnded.
func (p *podStdioPath) askUnread() int {
	select {
	case n := <-p.unread:
		return n
	default:
	}
	if p.ctl.Send(podpump.DownDestinationEnded, nil) == nil {
		t := p.a.clock.NewTimer(unreadWait)
		defer t.Stop()
		select {
		case n := <-p.unread:
			return n
		case <-p.framesDone:
		case <-t.C():
			p.a.log.Printf(protocol.LevelWarn, "ferry", "the pump did not say within %s how much input the destination left unread", unreadWait)
		}
	}
	select {
	case n := <-p.unread:
		return n
	default:
		return -1
	}
}

// destinationEnded tells the pump the destination is gone, and learns
// how much of its input it left unread.
func (p *podStdioPath) destinationEnded(w *wiring, _ ExitStatus, err error) {
	unread := p.askUnread()
	if !w.input.closed.Load() {
		p.a.destinationWriteFailed(errDestinationExited)
		w.cancelSrc()
		return
	}
	if unread > 0 && err == nil {
		p.a.findings.fail(Failure{Origin: protocol.OriginDestination, Type: protocol.FailureSystem,
			ExternalMessage: fmt.Sprintf("the destination exited without reading the last %d bytes of its input", unread)})
	}
}
