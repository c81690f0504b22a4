// Command ferry is Ferry's one binary: the daemon (ferry serve), one sync
// in the foreground (ferry sync) and connector helpers (ferry connector).
// This file only dispatches: global flags, logging, signals and exit
// codes. Each subcommand lives in its own file.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// command is one subcommand. run parses its own flags from args, which
// exclude the subcommand's name.
type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands lists the subcommands: adding one is an entry here plus a file
// holding its run function.
var commands = map[string]command{
	"connector": {"run spec, check or discover on a connector image or binary", runConnector},
	"sync":      {"run one sync in the foreground, without the daemon", runSync},
	"token":     {"create, list or delete applications: client credentials for bearer tokens", runToken},
}

// env is what a subcommand gets from the process, so tests can run it with
// buffers and a fake environment.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	log            *slog.Logger
}

// Exit codes, shared by all subcommands.
const (
	exitOK          = 0
	exitFailed      = 1   // the operation ran and failed (a connector failed, check said FAILED)
	exitUsage       = 2   // bad flags or arguments
	exitUnavailable = 3   // something Ferry needs is missing (no Docker engine, no image)
	exitInterrupted = 130 // SIGINT or SIGTERM, as shells report it
)

// exitError carries an exit code; an empty message prints nothing (the
// subcommand has said what it had to).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usageError reports bad flags or arguments.
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, let a second one kill the process the usual
	// way, in case cleanup hangs.
	go func() {
		<-ctx.Done()
		stop()
	}()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// run parses the global flags, sets up logging, runs the subcommand and
// turns its error into an exit code.
func run(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("ferry", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	level := fs.String("log-level", cmp.Or(e.getenv("FERRY_LOG_LEVEL"), "info"), "log level: debug, info, warn or error (env FERRY_LOG_LEVEL)")
	format := fs.String("log-format", cmp.Or(e.getenv("FERRY_LOG_FORMAT"), "text"), "log format: text or json (env FERRY_LOG_FORMAT)")
	fs.Usage = func() { usage(e.stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	log, err := newLogger(e.stderr, *level, *format)
	if err != nil {
		fmt.Fprintln(e.stderr, "ferry:", err)
		return exitUsage
	}
	e.log = log
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	name := fs.Arg(0)
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "ferry: unknown command %q\n", name)
		fs.Usage()
		return exitUsage
	}
	err = cmd.run(ctx, e, fs.Args()[1:])
	var ee *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case ctx.Err() != nil:
		fmt.Fprintln(e.stderr, "ferry: interrupted")
		return exitInterrupted
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintf(e.stderr, "ferry %s: %s\n", name, ee.msg)
		}
		return ee.code
	default:
		fmt.Fprintf(e.stderr, "ferry %s: %v\n", name, err)
		return exitFailed
	}
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "Usage: ferry [flags] COMMAND [ARGS]\n\nCommands:")
	for _, name := range slices.Sorted(maps.Keys(commands)) {
		fmt.Fprintf(w, "  %-10s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nRun ferry COMMAND -h for its flags.\n\nGlobal flags:")
	fs.PrintDefaults()
}

// newLogger builds the process logger on w (stderr: stdout carries results).
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}
