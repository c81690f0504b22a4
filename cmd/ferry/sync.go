package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferrysync/ferry/configcheck"
	"github.com/ferrysync/ferry/daemon"
	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/secret"
)

const syncUsage = `Usage: ferry sync --source IMAGE --destination IMAGE [flags]

Runs one sync in the foreground, without the daemon: the source's records
go through Ferry to the destination, and only the state the destination
acknowledged is written to --state-out, in the shape --state reads back.
With --runtime local, IMAGE is the path of a connector binary.

Without --catalog, the source is discovered and every stream is synced in
its default mode: incremental (append) when the stream has a cursor, full
refresh (overwrite) otherwise.

Exit codes: 0 success; 1 the sync failed; 2 usage; 3 the runtime or an
image is unavailable; 4 succeeded with warnings, a partial success (the
destination acknowledged no state, records not covered by an acknowledged
state, a stream not reported complete: see the summary's warnings); 130
interrupted (acknowledged state is still saved).

Flags:
`

// syncFlags are ferry sync's options.
type syncFlags struct {
	source, destination         string
	sourceConfig, destConfig    string
	catalog, state, stateOut    string
	mode, runtime, localRoot    string
	bridge, relayImage          string
	format                      string
	network, logFile            string
	prefix, namespace, nsFormat string
	maxLine, sockets            int
	lenient, asJSON             bool
	failOnCountMismatch         bool
	timeouts                    runner.Timeouts
}

func parseSyncFlags(e *env, args []string) (*syncFlags, error) {
	f := &syncFlags{}
	fs := flag.NewFlagSet("ferry sync", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&f.source, "source", "", "source `image` (or binary with --runtime local)")
	fs.StringVar(&f.destination, "destination", "", "destination `image` (or binary with --runtime local)")
	fs.StringVar(&f.sourceConfig, "source-config", "", "source config `file` (JSON); default {}")
	fs.StringVar(&f.destConfig, "destination-config", "", "destination config `file` (JSON); default {}")
	fs.StringVar(&f.catalog, "catalog", "", "configured catalog `file`; default: discover and sync every stream")
	fs.StringVar(&f.state, "state", "", "state `file` to start from (as --state-out writes it)")
	fs.StringVar(&f.stateOut, "state-out", "", "`file` the committed state is written to, atomically, as it is acknowledged")
	fs.StringVar(&f.mode, "mode", "auto", "data channel: auto, stdio, socket or bridged")
	fs.StringVar(&f.bridge, "bridge", "auto", "how bridged mode reaches the source's sockets: auto (probe), direct or relay")
	fs.StringVar(&f.relayImage, "relay-image", cmp.Or(e.getenv("FERRY_RELAY_IMAGE"), runner.DefaultRelayImage), "bridged mode's relay `image` (env FERRY_RELAY_IMAGE)")
	fs.StringVar(&f.format, "format", "", "socket serialization, JSONL or PROTOBUF (default: PROTOBUF when both sides support it)")
	fs.StringVar(&f.runtime, "runtime", cmp.Or(e.getenv("FERRY_RUNTIME"), "docker"), "docker or local (env FERRY_RUNTIME)")
	fs.StringVar(&f.localRoot, "local-root", "", "host `dir` (or Docker volume) mounted at /local in the destination")
	fs.StringVar(&f.network, "network", "", "Docker network mode of both containers")
	fs.StringVar(&f.logFile, "log", "", "attempt log `file`; - for stderr; default a new file in the temp dir")
	fs.StringVar(&f.prefix, "prefix", "", "prefix for stream names on the destination")
	fs.StringVar(&f.namespace, "namespace", "", "destination namespace rule: source, destination or customformat")
	fs.StringVar(&f.nsFormat, "namespace-format", "", "namespace format for customformat, with ${SOURCE_NAMESPACE}")
	fs.IntVar(&f.sockets, "sockets", 0, "socket count in socket mode (default: min(CPU limits) x 2)")
	fs.IntVar(&f.maxLine, "max-line-bytes", protocol.DefaultMaxLineBytes, "longest connector output line accepted")
	fs.BoolVar(&f.lenient, "lenient", false, "report protocol violations as warnings instead of failing")
	fs.BoolVar(&f.failOnCountMismatch, "fail-on-count-mismatch", false, "fail when the source's, Ferry's and the destination's record counts disagree, instead of warning")
	fs.BoolVar(&f.asJSON, "json", false, "print the result as JSON on stdout")
	fs.DurationVar(&f.timeouts.NoProgress, "no-progress-timeout", runner.DefaultNoProgress, "fail when the source emits no record or state for this long")
	fs.DurationVar(&f.timeouts.DestinationWrite, "destination-timeout", runner.DefaultDestinationWrite, "fail when the destination does not read its input for this long")
	fs.DurationVar(&f.timeouts.EndOfInput, "end-of-input-timeout", runner.DefaultEndOfInput, "how long the destination may take to exit after its input ends")
	fs.DurationVar(&f.timeouts.MaxDuration, "max-duration", runner.DefaultMaxDuration, "maximum duration of the sync")
	fs.DurationVar(&f.timeouts.StopGrace, "stop-grace", runner.DefaultStopTimeout, "SIGTERM grace before SIGKILL when stopping a connector")
	fs.Usage = func() { fmt.Fprint(e.stderr, syncUsage); fs.PrintDefaults() }
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	switch {
	case len(pos) > 0:
		return nil, usageError("unexpected argument %q", pos[0])
	case f.source == "" || f.destination == "":
		fs.Usage()
		return nil, usageError("--source and --destination are required")
	}
	switch f.mode {
	case "auto", protocol.ModeStdio, protocol.ModeSocket, protocol.ModeBridged:
	default:
		return nil, usageError("--mode %q: want auto, stdio, socket or bridged", f.mode)
	}
	if _, err := runner.ParseBridge(f.bridge); err != nil {
		return nil, usageError("--bridge: %v", err)
	}
	switch {
	case f.format != "" && !strings.EqualFold(f.format, protocol.FormatJSONL) && !strings.EqualFold(f.format, protocol.FormatProtobuf):
		return nil, usageError("--format %q: want JSONL or PROTOBUF", f.format)
	case f.format != "" && f.mode == protocol.ModeStdio:
		return nil, usageError("--format chooses the socket serialization; --mode stdio always carries JSONL")
	case f.sockets < 0:
		return nil, usageError("--sockets %d: want a positive count, or 0 for the default", f.sockets)
	case f.maxLine < 0:
		return nil, usageError("--max-line-bytes %d: want a positive size", f.maxLine)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--no-progress-timeout", f.timeouts.NoProgress}, {"--destination-timeout", f.timeouts.DestinationWrite},
		{"--end-of-input-timeout", f.timeouts.EndOfInput}, {"--max-duration", f.timeouts.MaxDuration},
		{"--stop-grace", f.timeouts.StopGrace}} {
		if d.v < 0 {
			return nil, usageError("%s %v: want a positive duration", d.name, d.v)
		}
	}
	return f, nil
}

// runSync is `ferry sync`.
func runSync(ctx context.Context, e *env, args []string) error {
	f, err := parseSyncFlags(e, args)
	if err != nil {
		return err
	}
	srcConfig, err := readConfigOrEmpty(e.stdin, f.sourceConfig)
	if err != nil {
		return usageError("--source-config: %v", err)
	}
	dstConfig, err := readConfigOrEmpty(e.stdin, f.destConfig)
	if err != nil {
		return usageError("--destination-config: %v", err)
	}
	var state []*protocol.State
	if f.state != "" {
		b, err := os.ReadFile(f.state)
		if err != nil && !os.IsNotExist(err) {
			return usageError("--state: %v", err)
		}
		if state, err = protocol.ParseStateFile(b); err != nil {
			return usageError("--state %s: %v", f.state, err)
		}
	}
	if f.localRoot, err = prepareLocalRoot(f.localRoot, f.runtime); err != nil {
		return usageError("--local-root: %v", err)
	}

	rt, closeRT, err := openRuntime(ctx, e, f.runtime)
	if err != nil {
		return err
	}
	defer closeRT()

	// Secret values come from the connectors' specs, so they are masked in
	// the log and in every message (docs/protocol.md 7.5).
	var secrets []string
	specs := make([]json.RawMessage, 2)
	for i, c := range []struct {
		image  string
		config []byte
	}{{f.source, srcConfig}, {f.destination, dstConfig}} {
		spec, err := connectorSpec(ctx, rt, c.image)
		if err != nil {
			return commandFailure(c.image, "spec", err)
		}
		specs[i] = spec.ConnectionSpecification
		secrets = append(secrets, secret.Values(spec.ConnectionSpecification, c.config)...)
	}
	red := secret.NewRedactor(secrets)
	// Refuse a config its spec rejects before read and write start.
	for i, c := range []struct {
		flag   string
		config []byte
	}{{"--source-config", srcConfig}, {"--destination-config", dstConfig}} {
		if err := configcheck.Check(specs[i], c.config, red); err != nil {
			return &exitError{code: exitUsage, msg: fmt.Sprintf("%s does not match the connector's spec: %v", c.flag, err)}
		}
	}

	catalog, err := loadCatalog(ctx, rt, f, srcConfig)
	if err != nil {
		return maskError(red, err)
	}
	mode, err := chooseSyncMode(ctx, rt, f)
	if err != nil {
		return maskError(red, err)
	}

	logW, logPath, closeLog, err := openAttemptLog(e, f.logFile)
	if err != nil {
		return err
	}
	defer closeLog()

	var cp runner.Checkpointer = runner.CheckpointFunc(func(context.Context, runner.Checkpoint) error { return nil })
	if f.stateOut != "" {
		cp = &runner.FileCheckpointer{Path: f.stateOut}
	}
	prog := newProgressLine(e.stderr)
	cfg := runner.Config{
		InstanceID:          "cli-" + randomHex(6),
		JobID:               time.Now().Unix(),
		Attempt:             1,
		Source:              runner.Connector{Image: f.source, Config: srcConfig, Spec: specs[0]},
		Destination:         runner.Connector{Image: f.destination, Config: dstConfig, Spec: specs[1]},
		Catalog:             catalog,
		State:               state,
		Checkpointer:        cp,
		Mode:                mode,
		Mapping:             runner.NamespaceMapping{Definition: protocol.NamespaceDefinition(f.namespace), Format: f.nsFormat, Prefix: f.prefix},
		LocalRoot:           f.localRoot,
		LocalUser:           localUser(f.localRoot, f.runtime, e),
		RelayImage:          f.relayImage,
		NetworkMode:         f.network,
		Timeouts:            f.timeouts,
		MaxLineBytes:        f.maxLine,
		Lenient:             f.lenient,
		FailOnCountMismatch: f.failOnCountMismatch,
		Secrets:             secrets,
		Log:                 logW,
		OnProgress:          prog.update,
		OnControl: func(role runner.Role, _ json.RawMessage) error {
			return fmt.Errorf("ferry sync keeps no config store; the %s's updated config is not saved", role)
		},
	}
	res, syncErr := runner.Sync(ctx, rt, cfg)
	prog.clear()
	if syncErr == nil {
		// Judged as the daemon judges a job (G11), so the exit code
		// agrees with the API and webhooks.
		res.Warnings = runner.HonestyWarnings(res)
	}
	if f.asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printSummary(e.stdout, res, f, logPath)
	}
	if syncErr != nil {
		if res.Status == runner.StatusCancelled && ctx.Err() != nil {
			return ctx.Err()
		}
		return &exitError{code: exitFailed}
	}
	if len(res.Warnings) > 0 {
		return &exitError{code: exitPartial}
	}
	return nil
}

// exitPartial is ferry sync's exit code for a sync that succeeded with
// warnings (G11): the connectors succeeded, but not everything the sync
// moved is known to be durable or complete.
const exitPartial = 4

// chooseSyncMode picks the data channel from the connectors' IPC options
// (the io.ferry.ipc-options image label, or a binary's labels sidecar).
// --mode stdio forces stdio; --mode socket fails unless socket mode is what
// the options allow.
func chooseSyncMode(ctx context.Context, rt runner.Runtime, f *syncFlags) (runner.Mode, error) {
	req := runner.ModeRequest{ForceStdio: f.mode == protocol.ModeStdio, SocketCount: f.sockets, Format: f.format,
		PreferBridged: f.mode == protocol.ModeBridged}
	if insp, ok := rt.(runner.ImageInspector); ok && !req.ForceStdio {
		for _, side := range []struct {
			image string
			ipc   **protocol.IPCOptions
		}{{f.source, &req.Source}, {f.destination, &req.Destination}} {
			info, err := insp.InspectImage(ctx, side.image)
			if err != nil {
				return runner.Mode{}, commandFailure(side.image, "inspect", err)
			}
			if *side.ipc, err = runner.IPCFromLabels(info.Labels); err != nil {
				return runner.Mode{}, &exitError{code: exitFailed, msg: fmt.Sprintf("%s: %v", side.image, err)}
			}
		}
	}
	m, err := runner.ChooseMode(req)
	if err != nil {
		return m, &exitError{code: exitFailed, msg: "data channel: " + err.Error()}
	}
	if m, err = chooseBridge(ctx, rt, f, req, m); err != nil {
		return m, err
	}
	if (f.mode == protocol.ModeSocket || f.mode == protocol.ModeBridged) && m.Mode != f.mode {
		return m, &exitError{code: exitFailed, msg: "--mode " + f.mode + ": " + m.Reason}
	}
	return m, nil
}

// chooseBridge decides, in bridged mode, how Ferry reaches the source's
// sockets (--bridge; auto probes). When auto finds no way, the sync runs in
// stdio mode, unless --mode bridged asked for bridged mode.
func chooseBridge(ctx context.Context, rt runner.Runtime, f *syncFlags, req runner.ModeRequest, m runner.Mode) (runner.Mode, error) {
	if m.Mode != protocol.ModeBridged {
		return m, nil
	}
	plan, err := runner.ResolveBridge(ctx, rt, runner.BridgeRequest{Want: f.bridge, SourceImage: f.source, RelayImage: f.relayImage})
	if err != nil {
		return m, &exitError{code: exitFailed, msg: "--bridge " + f.bridge + ": " + err.Error()}
	}
	if plan.Unavailable != "" {
		req.NoBridge, req.PreferBridged = plan.Unavailable, false
		if m, err = runner.ChooseMode(req); err != nil {
			return m, &exitError{code: exitFailed, msg: "data channel: " + err.Error()}
		}
		return m, nil
	}
	m.Bridge = plan.Bridge
	m.Reason += "; " + plan.Reason
	return m, nil
}

// connectorSpec returns an image's spec, cached by image ID.
func connectorSpec(ctx context.Context, rt runner.Runtime, image string) (*protocol.Spec, error) {
	base := runner.ConnectorSpec{Name: "ferry-cli-spec", Image: image, Role: runner.RoleConnector, StopTimeout: 5 * time.Second}
	if dir := cacheDirOrDefault(""); dir != "" {
		res, _, err := runner.CachedSpec(ctx, rt, base, runner.SpecCache{Dir: dir})
		if err != nil {
			return nil, err
		}
		return res.Spec, nil
	}
	res, err := runner.Spec(ctx, rt, base)
	if err != nil {
		return nil, err
	}
	return res.Spec, nil
}

// maskError masks secret values in the message of an error that is about
// to be printed: a connector's answer to discover or check may quote its
// config.
func maskError(red *secret.Redactor, err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return &exitError{code: ee.code, msg: red.Redact(ee.msg)}
	}
	return errors.New(red.Redact(err.Error()))
}

// commandFailure turns a failed connector command into an exit error.
func commandFailure(image, command string, err error) error {
	code := exitFailed
	var nf *runner.ImageNotFoundError
	if errors.As(err, &nf) {
		code = exitUnavailable
	}
	msg := err.Error()
	if prefix := image + " " + command; !strings.HasPrefix(msg, prefix) {
		msg = prefix + ": " + msg // the runner's errors mostly say it already
	}
	return &exitError{code: code, msg: msg}
}

// loadCatalog reads --catalog, or discovers the source and configures every
// stream in its default mode.
func loadCatalog(ctx context.Context, rt runner.Runtime, f *syncFlags, srcConfig []byte) (*protocol.ConfiguredCatalog, error) {
	if f.catalog != "" {
		b, err := os.ReadFile(f.catalog)
		if err != nil {
			return nil, usageError("--catalog: %v", err)
		}
		var c protocol.ConfiguredCatalog
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, usageError("--catalog %s: %v", f.catalog, err)
		}
		if err := c.Validate(); err != nil {
			return nil, usageError("--catalog %s: %v", f.catalog, err)
		}
		return &c, nil
	}
	base := runner.ConnectorSpec{Name: "ferry-cli-discover", Image: f.source, Role: runner.RoleConnector, StopTimeout: 5 * time.Second}
	res, err := runner.Discover(ctx, rt, base, srcConfig)
	if err != nil {
		return nil, commandFailure(f.source, "discover", err)
	}
	if res.Catalog == nil || len(res.Catalog.Streams) == 0 {
		return nil, &exitError{code: exitFailed, msg: fmt.Sprintf("%s discover: the source offers no streams", f.source)}
	}
	return res.Catalog.DefaultConfigured(), nil
}

func readConfigOrEmpty(stdin io.Reader, name string) ([]byte, error) {
	if name == "" {
		return []byte("{}"), nil
	}
	return readConfig(stdin, name)
}

// openAttemptLog opens the attempt log, capped at 256 MiB with its head
// and tail kept.
func openAttemptLog(e *env, name string) (io.Writer, string, func(), error) {
	if name == "-" {
		return e.stderr, "", func() {}, nil
	}
	var file *os.File
	var err error
	if name == "" {
		file, err = os.CreateTemp("", "ferry-sync-*.log")
	} else {
		file, err = os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	}
	if err != nil {
		return nil, "", nil, usageError("--log: %v", err)
	}
	capped := runner.NewCappedWriter(file, 256<<20)
	return capped, file.Name(), func() { capped.Close(); file.Close() }, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// localUser is the uid:gid strict destinations run as to write a
// --local-root host directory on Docker (daemon.LocalRootUser); "" for a
// volume or the local runtime.
func localUser(root, runtime string, e *env) string {
	if root == "" || runtime == "local" || !filepath.IsAbs(root) {
		return ""
	}
	return daemon.LocalRootUser(root, slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// prepareLocalRoot makes a --local-root that names a host directory
// absolute and creates it when missing, so that the Docker runtime can
// bind-mount it (the engine refuses a missing bind source). A bare name
// on the Docker runtime is a volume and is left alone.
func prepareLocalRoot(root, runtime string) (string, error) {
	if root == "" {
		return "", nil
	}
	if runtime != "local" && !strings.ContainsRune(root, os.PathSeparator) && !strings.HasPrefix(root, ".") {
		return root, nil // a Docker volume name
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", err
	}
	return abs, nil
}
