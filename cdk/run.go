package cdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	// ExitUsage is a malformed command line, as with the Python CDK.
	ExitUsage = 2
	// ExitTerminated is 128+SIGTERM: the connector was told to stop.
	ExitTerminated = 143
)

// Stdio carries a connector's standard streams.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// stopGrace is how long a connector may take to stop after SIGTERM before
// Main exits anyway: a source blocked writing to a full pipe never sees its
// context end.
const stopGrace = 5 * time.Second

// Main runs c on the process's arguments and standard streams and exits.
// SIGTERM and SIGINT cancel the command's context; if the command has not
// returned stopGrace later, the process exits with 143.
func Main(c Connector) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	go func() {
		<-ctx.Done()
		time.Sleep(stopGrace)
		os.Exit(ExitTerminated)
	}()
	stopProfile := StartCPUProfile(os.Args[1:])
	code := Run(ctx, c, os.Args[1:], Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stopProfile()
	stop()
	os.Exit(code)
}

// Run runs one command of c and returns the process exit code (docs/protocol.md
// 1.5): 0 on success and for a check that answered FAILED; 1 with an ERROR
// trace for every failure; 2 for a malformed command line; 143 when ctx was
// cancelled (SIGTERM). A panic in the connector is an ERROR trace and 1.
func Run(ctx context.Context, c Connector, args []string, stdio Stdio) int {
	return run(ctx, c, args, stdio, time.Now)
}

// runner holds one command's shared pieces.
type runner struct {
	conn   Connector
	inv    *invocation
	stdio  Stdio
	out    *output
	log    *slog.Logger
	now    func() time.Time
	redact *secret.Redactor
}

func run(ctx context.Context, c Connector, args []string, stdio Stdio, now func() time.Time) (code int) {
	if stdio.Err == nil {
		stdio.Err = io.Discard
	}
	out := newOutput(stdio.Out, now)
	r := &runner{conn: c, stdio: stdio, out: out, now: now}
	r.log = newLogger(out, slog.LevelInfo)
	defer func() {
		if p := recover(); p != nil {
			err := SystemError("connector panicked: %v", p)
			r.fail(err, string(debug.Stack()))
			code = ExitFailure
		}
		if err := out.close(); err != nil && code == ExitOK {
			fmt.Fprintf(stdio.Err, "write stdout: %v\n", err)
			code = ExitFailure
		}
	}()
	inv, err := parseArgs(args)
	if err != nil {
		fmt.Fprintln(stdio.Err, err)
		r.fail(err, "")
		return ExitUsage
	}
	r.inv = inv
	out.startIdleFlush(idleFlushEvery)
	err = r.dispatch(ctx)
	switch {
	case err == nil:
		return ExitOK
	case ctx.Err() != nil:
		r.log.Warn("stopped: " + context.Cause(ctx).Error())
		r.fail(TransientError("connector stopped by signal: %w", err), "")
		return ExitTerminated
	default:
		r.fail(err, "")
		return ExitFailure
	}
}

func (r *runner) dispatch(ctx context.Context) error {
	switch r.inv.cmd {
	case CmdSpec:
		return r.out.emitFlush(&protocol.Message{Type: protocol.TypeSpec, Spec: r.conn.Spec()})
	case CmdCheck:
		return r.check(ctx)
	case CmdDiscover:
		return r.discover(ctx)
	case CmdRead:
		src, ok := r.conn.(Source)
		if !ok {
			return SystemError("read: this connector is not a source")
		}
		return r.read(ctx, src)
	case CmdWrite:
		dst, ok := r.conn.(Destination)
		if !ok {
			return SystemError("write: this connector is not a destination")
		}
		return r.write(ctx, dst)
	}
	return SystemError("unknown command %q", r.inv.cmd)
}

// fail emits the ERROR trace for err, and a copy on stderr for people
// running the connector by hand. Both are redacted.
func (r *runner) fail(err error, stack string) {
	msg := errorTrace(err, stack, protocol.Millis(r.now().UnixMilli()))
	_ = r.out.emitFlush(msg)
	fmt.Fprintf(r.stdio.Err, "%s: %s\n", FailureType(err), r.redact.Redact(err.Error()))
}

// request loads and validates --config, and installs its secrets in the
// redactor before anything else is printed.
func (r *runner) request() (*Request, error) {
	raw, err := os.ReadFile(r.inv.config)
	if err != nil {
		return nil, SystemError("read config file: %w", err)
	}
	spec := r.conn.Spec()
	if spec != nil {
		r.redact = secret.NewRedactor(secret.Values(spec.ConnectionSpecification, raw))
		r.out.setRedactor(r.redact)
	}
	if _, err := validateConfig(spec, raw); err != nil {
		return nil, err
	}
	return &Request{Config: raw, Log: r.log}, nil
}

// check answers with a connection status: FAILED for a config problem
// (exit 0), an ERROR trace for an error that kept the check from running.
func (r *runner) check(ctx context.Context) error {
	req, err := r.request()
	if err == nil {
		err = r.conn.Check(ctx, req)
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.FailureType != protocol.FailureConfig && e.FailureType != "" {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
		return r.out.emitFlush(&protocol.Message{Type: protocol.TypeConnectionStatus,
			ConnectionStatus: &protocol.ConnectionStatus{Status: protocol.StatusFailed, Message: err.Error()}})
	}
	return r.out.emitFlush(&protocol.Message{Type: protocol.TypeConnectionStatus,
		ConnectionStatus: &protocol.ConnectionStatus{Status: protocol.StatusSucceeded}})
}

// discover answers with the source's catalog.
func (r *runner) discover(ctx context.Context) error {
	src, ok := r.conn.(Source)
	if !ok {
		return SystemError("discover: this connector is not a source")
	}
	req, err := r.request()
	if err != nil {
		return err
	}
	streams, err := src.Streams(ctx, req)
	if err != nil {
		return err
	}
	cat := &protocol.Catalog{Streams: make([]protocol.Stream, 0, len(streams))}
	for _, s := range streams {
		cat.Streams = append(cat.Streams, s.Describe())
	}
	return r.out.emitFlush(&protocol.Message{Type: protocol.TypeCatalog, Catalog: cat})
}
