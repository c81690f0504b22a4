package runnertest

import (
	"context"
	"io"
	"slices"
	"sync"

	"github.com/ferrysync/ferry/runner"
)

// Fake is a scripted runner.Runtime for unit tests of code that drives
// connectors. RunFunc plays the connector; Fake records every spec it is
// given. It is safe for concurrent use if RunFunc is.
type Fake struct {
	RunFunc  func(ctx context.Context, spec runner.ConnectorSpec, stdio runner.Stdio) (runner.ExitStatus, error)
	PingFunc func(ctx context.Context) error

	mu    sync.Mutex
	specs []runner.ConnectorSpec
}

var _ runner.Runtime = (*Fake)(nil)

// Name returns "fake".
func (f *Fake) Name() string { return "fake" }

// Ping calls PingFunc, or succeeds.
func (f *Fake) Ping(ctx context.Context) error {
	if f.PingFunc == nil {
		return nil
	}
	return f.PingFunc(ctx)
}

// Run records spec and calls RunFunc.
func (f *Fake) Run(ctx context.Context, spec runner.ConnectorSpec, stdio runner.Stdio) (runner.ExitStatus, error) {
	f.mu.Lock()
	f.specs = append(f.specs, spec)
	f.mu.Unlock()
	return f.RunFunc(ctx, spec, stdio)
}

// Specs returns the specs run so far, in order.
func (f *Fake) Specs() []runner.ConnectorSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.specs)
}

// Script returns a RunFunc for a connector that writes stdout and stderr
// and exits with status.
func Script(stdout, stderr string, status runner.ExitStatus) func(context.Context, runner.ConnectorSpec, runner.Stdio) (runner.ExitStatus, error) {
	return func(_ context.Context, _ runner.ConnectorSpec, stdio runner.Stdio) (runner.ExitStatus, error) {
		for _, s := range []struct {
			w    io.Writer
			text string
		}{{stdio.Out, stdout}, {stdio.Err, stderr}} {
			if s.w != nil {
				if _, err := io.WriteString(s.w, s.text); err != nil {
					return runner.ExitStatus{}, err
				}
			}
		}
		return status, nil
	}
}
