// Command connector-scripted is a test-only connector. Its config is a
// scenario (documented in its spec): as a source it emits numbered records
// and states and can misbehave on cue (sleep, hang, flood stderr, print
// garbage or huge lines, exit with any code, emit a foreign stream); as a
// destination it records what it received in a file and can acknowledge
// states wrongly, crash, stop reading or never exit.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/protocol"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	stopProfile := cdk.StartCPUProfile(os.Args[1:])
	code := cdk.Run(ctx, &connector{}, os.Args[1:], cdk.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stopProfile()
	stop()
	if code == cdk.ExitOK && len(os.Args) > 1 && os.Args[1] == cdk.CmdRead {
		if c := readConfigArg(os.Args[2:]); c != nil && c.Source.ExitAfterRecord == 0 && c.Source.ExitCode != 0 {
			code = c.Source.ExitCode
			if c.Source.ErrorMessage != "" {
				b, _ := json.Marshal(errorTrace(c.Source.ErrorMessage))
				os.Stdout.Write(append(b, '\n'))
			}
		}
	}
	os.Exit(code)
}

// readConfigArg loads the --config file of a command line, or nil.
func readConfigArg(args []string) *config {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--config" {
			raw, err := os.ReadFile(args[i+1])
			if err != nil {
				return nil
			}
			var c config
			if json.Unmarshal(raw, &c) != nil {
				return nil
			}
			return &c
		}
	}
	return nil
}

func errorTrace(msg string) *protocol.Message {
	return protocol.NewErrorTrace(msg, "", protocol.FailureSystem, protocol.Millis(time.Now().UnixMilli()))
}

// connector plays either role.
type connector struct {
	cfg *config
	// Source-side state shared by the streams of one read, which run in
	// parallel in socket mode; mu guards it.
	mu          sync.Mutex
	streamsRead int
	cursors     map[protocol.StreamDescriptor]int64 // for manual GLOBAL and LEGACY states
	order       []protocol.StreamDescriptor
}

func (c *connector) Spec() *protocol.Spec { return spec }

func (c *connector) load(req *cdk.Request) (*config, error) {
	if c.cfg != nil {
		return c.cfg, nil
	}
	var cfg config
	if err := req.DecodeConfig(&cfg); err != nil {
		return nil, err
	}
	cfg.raw = req.Config
	if len(cfg.Streams) == 0 {
		cfg.Streams = []string{"items"}
	}
	if cfg.Source.Records == nil {
		ten := int64(10)
		cfg.Source.Records = &ten
	}
	if cfg.Source.StateType == "" {
		cfg.Source.StateType = string(protocol.StateStream)
	}
	if cfg.Source.HugeLineAfterRecord == 0 {
		cfg.Source.HugeLineAfterRecord = 1
	}
	if cfg.Destination.Ack == "" {
		cfg.Destination.Ack = "all"
	}
	if cfg.Destination.AckEvery == 0 {
		cfg.Destination.AckEvery = 2
	}
	c.cfg = &cfg
	return c.cfg, nil
}

// Check fails with check_error when it is set.
func (c *connector) Check(ctx context.Context, req *cdk.Request) error {
	cfg, err := c.load(req)
	if err != nil {
		return err
	}
	cfg.echoStderr("check")
	cfg.echoStdout("checking")
	if cfg.CheckError != "" {
		if cfg.EchoConfig {
			failCheckRaw(cfg.CheckError + ": " + echo(cfg.raw))
		}
		return cdk.ConfigError("%s", cfg.CheckError)
	}
	if cfg.Destination.OutputPath != "" {
		if _, err := cdk.LocalPath(cfg.Destination.OutputPath); err != nil {
			return err
		}
	}
	return nil
}

// UsesGlobalState lets the kit compose GLOBAL states, unless the scenario
// omits sourceStats, in which case the streams build them by hand.
func (c *connector) UsesGlobalState(req *cdk.Request) bool {
	cfg, err := c.load(req)
	return err == nil && cfg.Source.StateType == string(protocol.StateGlobal) && !cfg.Source.OmitSourceStats
}

func (c *connector) Streams(ctx context.Context, req *cdk.Request) ([]cdk.Stream, error) {
	cfg, err := c.load(req)
	if err != nil {
		return nil, err
	}
	cfg.echoStderr("streams")
	cfg.echoStdout("listing streams")
	out := make([]cdk.Stream, 0, len(cfg.Streams))
	for _, name := range cfg.Streams {
		out = append(out, &stream{c: c, name: name})
	}
	return out, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// floodStderr writes n bytes of log lines to stderr.
func floodStderr(n int64) {
	line := []byte("scripted: flooding stderr with a line of log output that nobody reads ........................\n")
	for n > 0 {
		k := min(n, int64(len(line)))
		if _, err := os.Stderr.Write(line[:k]); err != nil {
			return
		}
		n -= k
	}
}

// exitNow flushes stdout, emits the scenario's error trace, and exits.
func exitNow(out *cdk.Emitter, cfg *sourceCfg) {
	if cfg.ErrorMessage != "" {
		_ = out.Emit(errorTrace(cfg.ErrorMessage))
	}
	_ = out.Flush()
	fmt.Fprintf(os.Stderr, "scripted: exiting with code %d\n", cfg.ExitCode)
	os.Exit(cfg.ExitCode)
}

var (
	_ cdk.Source            = (*connector)(nil)
	_ cdk.Destination       = (*connector)(nil)
	_ cdk.GlobalStateSource = (*connector)(nil)
	_ cdk.StateAcker        = (*writer)(nil)
	_ cdk.Partitioned       = (*stream)(nil)
)
