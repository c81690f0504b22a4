package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/ferrysync/ferry/runner"
)

// start runs cmd with stdio wired through pipes that Run owns, and waits.
//
// Run creates the pipes itself and hands the child plain *os.File ends, so
// exec starts no copying goroutines of its own. It then waits on the process
// directly and reads the pipes to EOF. With cmd.StdoutPipe and cmd.Wait
// instead, Wait closes the read end as soon as the process exits, possibly
// before the last bytes are read, and they are lost.
func (r *Runtime) start(ctx context.Context, cmd *exec.Cmd, spec runner.ConnectorSpec, stdio runner.Stdio) (runner.ExitStatus, error) {
	var status runner.ExitStatus
	// Stdout given as an OS pipe (the sync engine's) goes to the child as
	// is: the connector writes straight into the pipe its reader reads, and
	// no goroutine copies in between. Anything else gets a pipe of ours and
	// a copying goroutine.
	outDone := make(chan error, 1)
	p, err := attachStdio(cmd, spec, stdio, outDone)
	if err != nil {
		return status, err
	}
	outR, outW, errR, errW, inR, inW := p.outR, p.outW, p.errR, p.errW, p.inR, p.inW
	err = cmd.Start()
	// The child has its own copies now. Closing ours makes EOF reach the
	// readers when the child's group is gone, and EPIPE reach the stdin
	// writer when nobody can read any more.
	closeAll(outW, errW, inR)
	if err != nil {
		closeAll(outR, errR, inW)
		return status, fmt.Errorf("start %s: %w", spec.Image, err)
	}

	errDone := make(chan error, 1)
	if outR != nil {
		go func() { outDone <- copyOut(stdio.Out, outR) }()
	}
	go func() { errDone <- copyOut(stdio.Err, errR) }()
	if inW != nil {
		// This goroutine owns inW. Run does not wait for it: once the
		// connector is gone its next write fails with EPIPE and it ends.
		go func() {
			if stdio.In != nil {
				io.Copy(inW, stdio.In)
			}
			inW.Close()
		}()
	}

	pgid := cmd.Process.Pid
	exited := make(chan struct{})
	var reaped *os.ProcessState
	var waitErr error
	go func() {
		reaped, waitErr = waitLeader(cmd.Process)
		close(exited)
	}()
	select {
	case <-exited:
	case <-ctx.Done():
		select {
		case <-exited: // it ended on its own: report that, not a cancel
		default:
			status.Signalled = true
			stopGroup(pgid, spec.StopTimeout, exited)
		}
	}
	// The leader has exited. Kill whatever is left of its group, so that no
	// child outlives the run or keeps the output pipes open. Errors are
	// ignored: ESRCH only means nobody was left.
	syscall.Kill(-pgid, syscall.SIGKILL)
	state := reaped
	if state == nil && waitErr == nil {
		state, waitErr = cmd.Process.Wait()
	}
	outErr, errErr := <-outDone, <-errDone
	if waitErr != nil {
		return status, fmt.Errorf("wait for %s: %w", spec.Image, waitErr)
	}
	status.Code = exitCode(state)
	if status.Signalled {
		return status, fmt.Errorf("%w: %s stopped", runner.ErrCancelled, spec.Image)
	}
	if err := errors.Join(outErr, errErr); err != nil {
		return status, fmt.Errorf("copy connector output: %w", err)
	}
	return status, nil
}

// stopGroup sends SIGTERM to the group, then SIGKILL after the grace period
// unless the leader exits first, and returns once the leader has exited.
func stopGroup(pgid int, grace time.Duration, exited <-chan struct{}) {
	if grace <= 0 {
		grace = runner.DefaultStopTimeout
	}
	syscall.Kill(-pgid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C:
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
	}
}

// exitCode reports a signal death as 128+signal, as shells and Docker do,
// so both runtimes give the same codes (143 for SIGTERM, 137 for SIGKILL).
func exitCode(state *os.ProcessState) int {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return state.ExitCode()
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// pipeFile is the OS pipe behind a Stdio.Out, if it has one.
func pipeFile(w io.Writer) (*os.File, bool) {
	switch f := w.(type) {
	case *os.File:
		return f, true
	case runner.PipeFile:
		return f.PipeFile(), true
	}
	return nil, false
}

// childPipes are the pipes of ours a child's stdio goes through; nil where
// the caller's own OS pipe goes to the child as is.
type childPipes struct {
	outR, outW, errR, errW, inR, inW *os.File
}

// attachStdio sets the child's stdio. Stdout given as an OS pipe (the sync
// engine's) goes to the child as is: the connector writes straight into
// the pipe its reader reads, and no goroutine copies in between (outDone
// then gets nil at once). Anything else gets a pipe of ours and a copying
// goroutine.
func attachStdio(cmd *exec.Cmd, spec runner.ConnectorSpec, stdio runner.Stdio, outDone chan<- error) (childPipes, error) {
	var p childPipes
	var err error
	if f, ok := pipeFile(stdio.Out); ok {
		cmd.Stdout = f
		outDone <- nil
	} else {
		if p.outR, p.outW, err = os.Pipe(); err != nil {
			return p, err
		}
		cmd.Stdout = p.outW
	}
	if p.errR, p.errW, err = os.Pipe(); err != nil {
		closeAll(p.outR, p.outW)
		return p, err
	}
	cmd.Stderr = p.errW
	if spec.OpenStdin {
		if f, ok := stdio.In.(*os.File); ok {
			cmd.Stdin = f // likewise: the connector reads the caller's pipe
		} else {
			if p.inR, p.inW, err = os.Pipe(); err != nil {
				closeAll(p.outR, p.outW, p.errR, p.errW)
				return p, err
			}
			cmd.Stdin = p.inR
		}
	}
	return p, nil
}
