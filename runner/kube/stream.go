package kube

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/remotecommand"
)

// executor streams an attach or exec, over WebSocket where the API server
// speaks it, else SPDY (as kubectl does).
func (r *Runtime) executor(u *url.URL) (remotecommand.Executor, error) {
	return remotecommand.NewSPDYExecutor(r.cfg, "POST", u)
}

// attach carries the container's stdio until its output ends. in is copied
// to the container's stdin and, at its EOF, stdin is closed.
func (p *podRun) attach(ctx context.Context, container string, in io.Reader, out, errOut io.Writer) error {
	req := p.r.core.RESTClient().Post().Namespace(p.r.opts.Namespace).
		Resource("pods").Name(p.name).SubResource("attach").
		VersionedParams(&corev1.PodAttachOptions{Container: container, Stdin: true, Stdout: true, Stderr: true}, p.r.core.params)
	ex, err := p.r.executor(req.URL())
	if err != nil {
		return err
	}
	return ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: in, Stdout: out, Stderr: errOut})
}

// exec runs the shim with args in the container and returns its output
// with its error.
func (p *podRun) exec(ctx context.Context, container string, args ...string) error {
	req := p.r.core.RESTClient().Post().Namespace(p.r.opts.Namespace).
		Resource("pods").Name(p.name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: append([]string{shimPath}, args...),
			Stdout: true, Stderr: true}, p.r.core.params)
	ex, err := p.r.executor(req.URL())
	if err != nil {
		return err
	}
	// Two buffers: the streams are copied concurrently.
	var out, errOut bytes.Buffer
	if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut}); err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(out.String()+" "+errOut.String()))
	}
	return nil
}

// stopMember stops one connector while the pod's other one goes on:
// SIGTERM to every process of its container but the shim, then SIGKILL
// after its stop timeout, unless its output ended (the connector exited)
// first. The shim reports the end as usual.
func (p *podRun) stopMember(ctx context.Context, m podMember, ended <-chan struct{}) {
	cctx, cancel := detached(ctx, cleanupTimeout)
	defer cancel()
	if err := p.exec(cctx, m.container, "signal", "TERM"); err != nil {
		p.r.log.Debug("signal TERM", "pod", p.name, "container", m.container, "error", err)
	}
	t := time.NewTimer(stopTimeout(m.spec))
	defer t.Stop()
	select {
	case <-ended:
		return
	case <-t.C:
	}
	if err := p.exec(cctx, m.container, "signal", "KILL"); err != nil {
		p.r.log.Debug("signal KILL", "pod", p.name, "container", m.container, "error", err)
	}
}
