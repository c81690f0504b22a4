package docker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/docker/docker/api/types/container"

	"github.com/ferrysync/ferry/runner"
)

// Run runs one connector container to completion; see runner.Runtime. The
// order is the docker CLI's (`docker run -i`), the one that never loses
// output and always delivers end of input: create, copy files in, attach,
// register the wait, start, stream, then read the exit status and remove.
func (r *Runtime) Run(ctx context.Context, spec runner.ConnectorSpec, stdio runner.Stdio) (runner.ExitStatus, error) {
	if err := ctx.Err(); err != nil {
		return runner.ExitStatus{}, cancelled(err)
	}
	img, err := r.inspectImage(ctx, spec.Image)
	if err != nil {
		return runner.ExitStatus{}, checkCancel(ctx, err)
	}
	cfg, host, err := containerConfig(spec, img, r.instance, r.defaults)
	if err != nil {
		return runner.ExitStatus{}, err
	}
	copies, err := fileCopies(spec, spec.Hardening.Resolve(img.Labels) == runner.HardeningStrict)
	if err != nil {
		return runner.ExitStatus{}, err
	}
	// `docker create`, on a detached context: were ctx cancelled during the
	// call, the engine could still create the container after we stopped
	// listening, and we would never learn its ID to remove it.
	cctx, cancel := detached(ctx, cleanupTimeout)
	created, err := r.c.ContainerCreate(cctx, cfg, host, nil, nil, containerName(spec.Name))
	cancel()
	if err != nil {
		return runner.ExitStatus{}, wrapErr("create container for "+spec.Image, err)
	}
	defer r.remove(ctx, created.ID)
	status, err := r.run(ctx, created.ID, spec, copies, stdio)
	return status, checkCancel(ctx, err)
}

// run does everything between create and remove.
func (r *Runtime) run(ctx context.Context, id string, spec runner.ConnectorSpec, copies []fileCopy, stdio runner.Stdio) (runner.ExitStatus, error) {
	var status runner.ExitStatus
	for _, fc := range copies {
		// `docker cp`.
		opts := container.CopyToContainerOptions{CopyUIDGID: fc.chown}
		if err := r.c.CopyToContainer(ctx, id, fc.dir, bytes.NewReader(fc.tarball), opts); err != nil {
			return status, wrapErr("copy files into the container", err)
		}
	}
	// `docker attach`, before start, so no early output is lost.
	hij, err := r.c.ContainerAttach(ctx, id, container.AttachOptions{
		Stream: true, Stdin: spec.OpenStdin, Stdout: true, Stderr: true,
	})
	if err != nil {
		return status, wrapErr("attach", err)
	}
	defer hij.Close()
	// `docker wait`, registered before start so the exit cannot be missed,
	// on a context that cancellation does not cut: after a cancel we still
	// wait for the stopped container to exit.
	wctx, stopWait := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWait()
	exited := r.wait(wctx, id)
	if r.beforeStart != nil {
		r.beforeStart(spec)
	}
	if err := r.c.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return status, wrapErr("start "+spec.Image, err)
	}

	// Stream. The output goroutine ends when the engine closes the stream,
	// after the container's last write. The stdin goroutine is not waited
	// for (see runner.Runtime): once the container is gone, hij.Close makes
	// its next write fail.
	outDone := make(chan error, 1)
	go func() { outDone <- demux(stdio.Out, stdio.Err, hij.Reader) }()
	if spec.OpenStdin {
		go func() {
			if stdio.In != nil {
				io.Copy(hij.Conn, stdio.In)
			}
			// Half-close: the engine closes the connector's stdin (StdinOnce)
			// and the connector sees EOF, while its output keeps flowing.
			hij.CloseWrite()
		}()
	}

	var res waitResult
	select {
	case res = <-exited:
	case <-ctx.Done():
		select {
		case res = <-exited: // it ended on its own: report that, not a cancel
		default:
			status.Signalled = true
			r.stop(ctx, id, spec.StopTimeout)
			res = <-exited
		}
	}
	if res.err != nil {
		// The wait failed, so the stream may still be open: end it, so the
		// copy returns and nothing writes to stdio after Run.
		hij.Close()
		<-outDone
		return status, res.err
	}
	outErr := <-outDone
	status.Code = int(res.code)
	r.exitDetails(ctx, id, spec, &status)
	if status.Signalled {
		return status, fmt.Errorf("%w: %s stopped", runner.ErrCancelled, spec.Image)
	}
	if outErr != nil {
		return status, fmt.Errorf("copy connector output: %w", outErr)
	}
	return status, nil
}

// fileCopy is one `docker cp` of a spec's files: a tar to extract at dir.
type fileCopy struct {
	dir     string
	tarball []byte
	// chown gives the files to the container's user (CopyUIDGID), so a
	// connector whose image runs as another user can read them. Strict
	// containers skip it: the engine resolves the user in the image's
	// passwd file, where StrictUser has no entry, and the files are
	// world-readable in a volume no one else mounts anyway.
	chown bool
}

// fileCopies packs the spec's files: one tar at "/", or for a strict
// container one per directory, each extracted into that directory's
// volume (harden), since the root filesystem is read-only.
func fileCopies(spec runner.ConnectorSpec, strict bool) ([]fileCopy, error) {
	if len(spec.Files) == 0 {
		return nil, nil
	}
	now := time.Now()
	if !strict {
		tarball, err := filesTar(spec.Files, "/", now)
		if err != nil {
			return nil, err
		}
		return []fileCopy{{dir: "/", tarball: tarball, chown: true}}, nil
	}
	byDir := filesByDir(spec.Files)
	out := make([]fileCopy, 0, len(byDir))
	for _, dir := range slices.Sorted(maps.Keys(byDir)) {
		tarball, err := filesTar(byDir[dir], dir, now)
		if err != nil {
			return nil, err
		}
		out = append(out, fileCopy{dir: dir, tarball: tarball})
	}
	return out, nil
}

// oomRecheckDelay is how long a SIGKILLed, memory-limited container gets
// for its OOM flag to show up.
const oomRecheckDelay = 250 * time.Millisecond

func (r *Runtime) memoryLimited(spec runner.ConnectorSpec) bool {
	return spec.Resources.MemoryBytes > 0 || r.defaults.MemoryBytes > 0
}

type waitResult struct {
	code int64
	err  error
}

// wait reports the container's next exit on the returned channel. If the
// wait request itself breaks (an engine restart, a proxy timeout), it polls
// inspect instead, as drone-runner-docker's waitRetry does.
func (r *Runtime) wait(ctx context.Context, id string) <-chan waitResult {
	waitC, errC := r.c.ContainerWait(ctx, id, container.WaitConditionNextExit)
	done := make(chan waitResult, 1)
	go func() {
		select {
		case w := <-waitC:
			if w.Error != nil && w.Error.Message != "" {
				r.log.Warn("container wait", "container", id, "error", w.Error.Message)
			}
			done <- waitResult{code: w.StatusCode}
		case err := <-errC:
			if ctx.Err() != nil {
				done <- waitResult{err: ctx.Err()}
				return
			}
			r.log.Warn("container wait broke; polling", "container", id, "error", err)
			done <- r.poll(ctx, id)
		}
	}()
	return done
}

// poll inspects the container until it is no longer running. It gives up
// after a minute of consecutive engine errors.
func (r *Runtime) poll(ctx context.Context, id string) waitResult {
	var failingSince time.Time
	for {
		info, err := r.c.ContainerInspect(ctx, id)
		switch {
		case cerrdefs.IsNotFound(err):
			return waitResult{err: fmt.Errorf("container %s disappeared while running", id)}
		case err == nil && info.State != nil && !info.State.Running && info.State.Status != "created":
			return waitResult{code: int64(info.State.ExitCode)}
		case err == nil:
			failingSince = time.Time{}
		case failingSince.IsZero():
			failingSince = time.Now()
		case time.Since(failingSince) > time.Minute:
			return waitResult{err: wrapErr("wait for container", err)}
		}
		select {
		case <-ctx.Done():
			return waitResult{err: ctx.Err()}
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// stop is `docker stop -t N`: SIGTERM, then SIGKILL after the grace period.
// If the stop request fails, a forced remove kills the container instead,
// so the wait still returns.
func (r *Runtime) stop(ctx context.Context, id string, grace time.Duration) {
	if grace <= 0 {
		grace = runner.DefaultStopTimeout
	}
	secs := int((grace + time.Second - 1) / time.Second)
	sctx, cancel := detached(ctx, grace+cleanupTimeout)
	defer cancel()
	err := r.c.ContainerStop(sctx, id, container.StopOptions{Timeout: &secs})
	if err != nil && !cerrdefs.IsNotFound(err) {
		r.log.Warn("stop container; removing it", "container", id, "error", err)
		r.remove(ctx, id)
	}
}

// remove is `docker rm -f -v`, on a detached context so a cancelled run
// still cleans up. Errors are logged, not returned: the connector's outcome
// is what the caller needs, and whatever is left carries our labels for the
// next Sweep. "Not found" and "removal already in progress" are not even
// logged: the container is gone or going, which is the point.
func (r *Runtime) remove(ctx context.Context, id string) {
	rctx, cancel := detached(ctx, cleanupTimeout)
	defer cancel()
	err := r.c.ContainerRemove(rctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
		r.log.Warn("remove container", "container", id, "error", err)
	}
}

// containerName is the spec's name plus a random suffix: names must be
// unique on the whole engine, which several Ferry instances and leftovers
// of crashed runs share. Sweeps go by labels, never by name.
func containerName(name string) string {
	var b [4]byte
	rand.Read(b[:])
	if name = safeName(name); name == "" {
		name = "ferry-connector"
	}
	return name + "-" + hex.EncodeToString(b[:])
}

// safeName keeps the characters Docker allows in names.
func safeName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '-'
		}
	}
	if len(b) > 100 {
		b = b[:100]
	}
	for len(b) > 0 && (b[0] == '-' || b[0] == '.' || b[0] == '_') {
		b = b[1:]
	}
	return string(b)
}

// cancelled wraps runner.ErrCancelled with the context's reason.
func cancelled(cause error) error { return fmt.Errorf("%w: %v", runner.ErrCancelled, cause) }

// checkCancel turns a failure caused by cancellation into ErrCancelled.
func checkCancel(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, runner.ErrCancelled) {
		return cancelled(err)
	}
	return err
}

// exitDetails reads the exit code and the OOM flag, which the wait
// response does not carry, with `docker inspect`.
func (r *Runtime) exitDetails(ctx context.Context, id string, spec runner.ConnectorSpec, status *runner.ExitStatus) {
	ictx, cancel := detached(ctx, cleanupTimeout)
	defer cancel()
	if info, err := r.c.ContainerInspect(ictx, id); err == nil && info.State != nil {
		status.Code, status.OOMKilled = info.State.ExitCode, info.State.OOMKilled
	} else if err != nil {
		r.log.Warn("inspect exited container; using the wait result", "container", id, "error", err)
	}
	if status.Code == 137 && !status.OOMKilled && !status.Signalled && r.memoryLimited(spec) {
		// The engine's OOM event can trail the exit event; look once more
		// before calling it a plain SIGKILL.
		time.Sleep(oomRecheckDelay)
		if info, err := r.c.ContainerInspect(ictx, id); err == nil && info.State != nil {
			status.OOMKilled = info.State.OOMKilled
		}
	}
}
