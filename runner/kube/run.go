package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrysync/ferry/runner"
)

// podMember is a member with what Run or RunPair were given for it.
type podMember struct {
	member
	stdio  runner.Stdio
	stop   context.Context
	exited func(runner.ExitStatus, error)
}

// Run implements runner.Runtime with a one-container pod.
func (r *Runtime) Run(ctx context.Context, spec runner.ConnectorSpec, stdio runner.Stdio) (runner.ExitStatus, error) {
	var (
		status runner.ExitStatus
		err    error
	)
	r.runPod(ctx, []podMember{{
		member: member{container: containerNameOf(spec.Role), spec: spec},
		stdio:  stdio, stop: ctx,
		exited: func(s runner.ExitStatus, e error) { status, err = s, e },
	}})
	return status, err
}

// RunPair implements runner.PairRuntime with a two-container pod.
func (r *Runtime) RunPair(ctx context.Context, source, destination runner.PairMember) {
	pms := make([]podMember, 0, 2)
	for _, m := range []runner.PairMember{source, destination} {
		pms = append(pms, podMember{
			member: member{container: containerNameOf(m.Spec.Role), spec: m.Spec},
			stdio:  m.Stdio, stop: m.Stop, exited: m.Exited,
		})
	}
	if pms[0].container == pms[1].container {
		pms[0].container, pms[1].container = "source", "destination"
	}
	r.runPod(ctx, pms)
}

// RunPumped implements runner.PumpRuntime: the pod's third container
// runs stdio mode's pump (package podpump) between a FIFO the source's
// stdout is joined to and one the destination's stdin is joined to. Each
// FIFO lives in an emptyDir that only the pump and that one connector
// mount: the source cannot reach the destination's input, nor either
// connector the pump's stdio, where Ferry's frames travel.
func (r *Runtime) RunPumped(ctx context.Context, source, destination, pump runner.PairMember) {
	pms := []podMember{
		{member: member{container: "source", spec: source.Spec, stdoutFIFO: fifoDir + "/stdout"},
			stdio: source.Stdio, stop: source.Stop, exited: source.Exited},
		{member: member{container: "destination", spec: destination.Spec, stdinFIFO: fifoDir + "/stdin"},
			stdio: destination.Stdio, stop: destination.Stop, exited: destination.Exited},
		{member: member{container: pumpContainer, spec: pumpSpec(pump.Spec, r.opts.HelperImage), pump: true},
			stdio: pump.Stdio, stop: pump.Stop, exited: pump.Exited},
	}
	r.runPod(ctx, pms)
}

// pumpSpec is the pump's spec with the image it runs in the pod.
func pumpSpec(spec runner.ConnectorSpec, image string) runner.ConnectorSpec {
	spec.Image = image
	return spec
}

// runPod creates the pod of pms, runs every member to its end, reports
// each through its exited func, and removes the pod and its Secret.
func (r *Runtime) runPod(ctx context.Context, pms []podMember) {
	if err := ctx.Err(); err != nil {
		for _, m := range pms {
			m.exited(runner.ExitStatus{}, cancelled(err))
		}
		return
	}
	members := make([]member, len(pms))
	for i, m := range pms {
		members[i] = m.member
	}
	name := podName(strings.TrimSuffix(pms[0].spec.Name, "-source"))
	p := &podRun{r: r, name: name}
	if err := p.create(ctx, members); err != nil {
		p.cleanup(ctx)
		for _, m := range pms {
			m.exited(runner.ExitStatus{}, err)
		}
		return
	}
	// The member that ends last removes the pod before it reports, so
	// that once both have reported (Sync returns) nothing is left.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		left = len(pms)
	)
	for _, m := range pms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, err := p.runMember(ctx, m)
			mu.Lock()
			left--
			last := left == 0
			mu.Unlock()
			if last {
				p.cleanup(ctx)
			}
			m.exited(status, err)
		}()
	}
	wg.Wait()
}

// podRun is one pod's life.
type podRun struct {
	r       *Runtime
	name    string
	secrets []string // the Secrets holding the pod's files
	// deleting is set once Ferry deletes the pod, so a deletion seen
	// before it is someone else's.
	mu       sync.Mutex
	deleting bool
}

// create makes the Secret and the pod, on a detached context: were ctx
// cancelled during a call, the object could still be created and never
// removed.
func (p *podRun) create(ctx context.Context, members []member) error {
	cctx, cancel := detached(ctx, cleanupTimeout)
	defer cancel()
	pf := collectFiles(members)
	lbl := labels(members[0].spec.Labels)
	for i, data := range pf.secrets {
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: secretName(p.name, i), Namespace: p.r.opts.Namespace, Labels: lbl},
			Data:       data, Type: corev1.SecretTypeOpaque,
		}
		if _, err := p.r.core.Secrets(p.r.opts.Namespace).Create(cctx, sec, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("kubernetes: create the pod's secret: %w", err)
		}
		p.secrets = append(p.secrets, sec.Name)
	}
	pod := p.r.buildPod(p.name, members, pf)
	if _, err := p.r.core.Pods(p.r.opts.Namespace).Create(cctx, pod, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubernetes: create pod %s: %w", p.name, err)
	}
	return nil
}

// runMember waits for the member's container to run, carries its stdio,
// and returns how it ended.
func (p *podRun) runMember(ctx context.Context, m podMember) (runner.ExitStatus, error) {
	sctx, cancel := context.WithTimeout(m.stop, p.r.opts.StartTimeout)
	err := p.waitRunning(sctx, m)
	cancel()
	if err != nil {
		if m.stop.Err() != nil {
			return runner.ExitStatus{Signalled: true}, cancelled(m.stop.Err())
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("kubernetes: pod %s did not start within %v%s", p.name, p.r.opts.StartTimeout, p.pendingReason(ctx))
		}
		return runner.ExitStatus{}, err
	}

	// Stop this member alone when its Stop context ends first. stopped
	// says, once the stream has ended, whether Ferry stopped it. The pump
	// is not stopped: it ends with its stdin, or with the pod.
	streamDone := make(chan struct{})
	stopped := make(chan bool, 1)
	stop := m.stop
	if m.pump {
		stop = context.Background()
	}
	go func() {
		select {
		case <-stop.Done():
			p.stopMember(ctx, m, streamDone)
			stopped <- true
		case <-streamDone:
			stopped <- false
		}
	}()
	out, errOut := newSink(m.stdio.Out), newSink(m.stdio.Err)
	in := io.Reader(strings.NewReader(startLine))
	if m.spec.OpenStdin && m.stdio.In != nil {
		in = io.MultiReader(in, m.stdio.In)
	}
	if m.pump {
		// No shim, no start line: the pump writes nothing before Ferry's
		// plan reaches it, so nothing can precede the attach.
		in = m.stdio.In
	}
	// The stream ends when the container's output does; it is cut only
	// by cleanup, never by a cancel (the connector's last words count).
	sErr := p.attach(context.WithoutCancel(ctx), m.container, in, out, errOut)
	close(streamDone)
	status, err := p.waitTerminated(ctx, m)
	// A Stop that comes after the connector's output ended (the runner
	// cancelling a side that already finished) does not make it stopped:
	// it ended on its own.
	status.Signalled = <-stopped
	switch {
	case err != nil:
		return status, err
	case status.Signalled:
		return status, fmt.Errorf("%w: %s stopped", runner.ErrCancelled, m.spec.Image)
	case sErr != nil:
		return status, fmt.Errorf("kubernetes: attach to %s: %w", m.container, sErr)
	}
	if werr := firstErr(out.err(), errOut.err()); werr != nil {
		return status, fmt.Errorf("copy connector output: %w", werr)
	}
	return status, nil
}

// startLine is what the shim waits for (shim.StartLine).
const startLine = "ferry-start\n"

// cleanup deletes the pod and its Secret and waits until the pod is gone,
// on a context a cancel cannot cut.
func (p *podRun) cleanup(ctx context.Context) {
	cctx, cancel := detached(ctx, cleanupTimeout)
	defer cancel()
	p.mu.Lock()
	p.deleting = true
	p.mu.Unlock()
	zero := int64(0)
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{GracePeriodSeconds: &zero, PropagationPolicy: &bg}
	if err := p.r.core.Pods(p.r.opts.Namespace).Delete(cctx, p.name, opts); err != nil && !apierrors.IsNotFound(err) {
		p.r.log.Warn("could not delete pod", "pod", p.name, "error", err)
	} else if err := p.waitGone(cctx); err != nil {
		p.r.log.Warn("pod not gone", "pod", p.name, "error", err)
	}
	for _, name := range p.secrets {
		if err := p.r.core.Secrets(p.r.opts.Namespace).Delete(cctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			p.r.log.Warn("could not delete secret", "secret", name, "error", err)
		}
	}
}

// sink is a writer that, after its first write error, discards the rest
// and remembers the error, so a connector never blocks on a stream nobody
// reads (runner.Runtime's contract).
type sink struct {
	w    io.Writer
	mu   sync.Mutex
	fail error
}

func newSink(w io.Writer) *sink {
	if w == nil {
		w = io.Discard
	}
	return &sink{w: w}
}

func (s *sink) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail == nil {
		if _, err := s.w.Write(b); err != nil {
			s.fail = err
		}
	}
	return len(b), nil
}

func (s *sink) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fail
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
