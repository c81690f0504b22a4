package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/docker"
	"github.com/ferrysync/ferry/runner/local"
)

const connectorUsage = `Usage: ferry connector spec|check|discover [flags] IMAGE

Runs one command on a connector and prints its answer. IMAGE is a Docker
image (--runtime docker) or the path of a connector binary (--runtime local).
check and discover need --config. The spec is cached per image ID.

Exit codes: 0 success; 1 the connector failed, or check answered FAILED;
2 usage; 3 the connector could not be run (no engine, no such image).
With --json, stdout holds one Airbyte message: the answer, or the ERROR
TRACE that explains a failure.

Flags:
`

// runConnector is `ferry connector`.
func runConnector(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("ferry connector", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	configFile := fs.String("config", "", "connector config `file` (JSON); - reads stdin")
	rtName := fs.String("runtime", cmp.Or(e.getenv("FERRY_RUNTIME"), "docker"), "docker or local (env FERRY_RUNTIME)")
	asJSON := fs.Bool("json", false, "print the Airbyte message instead of a summary")
	cacheDir := fs.String("cache-dir", "", "spec cache `dir` (default <user cache dir>/ferry/specs)")
	noCache := fs.Bool("no-cache", false, "always ask the connector for its spec")
	localRoot := fs.String("local-root", "", "host `dir` (or Docker volume) the connector sees as /local")
	network := fs.String("network", "", "Docker network mode (default: the engine's)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up on the connector after this long")
	fs.Usage = func() { fmt.Fprint(e.stderr, connectorUsage); fs.PrintDefaults() }
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || !slices.Contains([]string{runner.CommandSpec, runner.CommandCheck, runner.CommandDiscover}, pos[0]) {
		fs.Usage()
		return usageError("want spec, check or discover and one IMAGE")
	}
	command, image := pos[0], pos[1]
	var config []byte
	switch {
	case command == runner.CommandSpec && *configFile != "":
		return usageError("spec takes no --config")
	case command != runner.CommandSpec && *configFile == "":
		return usageError("%s needs --config FILE", command)
	case *configFile != "":
		if config, err = readConfig(e.stdin, *configFile); err != nil {
			return usageError("%v", err)
		}
	}
	rt, closeRT, err := openRuntime(ctx, e, *rtName)
	if err != nil {
		return err
	}
	defer closeRT()

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	base := runner.ConnectorSpec{
		Name: "ferry-cli-" + command, Image: image, Role: runner.RoleConnector,
		LocalRoot: *localRoot, NetworkMode: *network, StopTimeout: 5 * time.Second,
	}
	p := printer{w: e.stdout, json: *asJSON, image: image}
	switch command {
	case runner.CommandSpec:
		var res *runner.SpecResult
		var cached bool
		if dir := cacheDirOrDefault(*cacheDir); dir != "" && !*noCache {
			res, cached, err = runner.CachedSpec(ctx, rt, base, runner.SpecCache{Dir: dir})
		} else {
			res, err = runner.Spec(ctx, rt, base)
		}
		if err == nil {
			return p.spec(res, cached)
		}
	case runner.CommandCheck:
		var res *runner.CheckResult
		if res, err = runner.Check(ctx, rt, base, config); err == nil {
			return p.check(res)
		}
	case runner.CommandDiscover:
		var res *runner.DiscoverResult
		if res, err = runner.Discover(ctx, rt, base, config); err == nil {
			return p.discover(res)
		}
	}
	if errors.Is(err, runner.ErrCancelled) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &exitError{code: exitFailed, msg: fmt.Sprintf("%s %s: no answer within %v (--timeout)", image, command, *timeout)}
	}
	return p.failure(err)
}

// parseInterleaved lets flags follow positional arguments ("check IMAGE
// --config f"), which flag.Parse alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: exitUsage}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}

func readConfig(stdin io.Reader, name string) ([]byte, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("config %s is not valid JSON", name)
	}
	return b, nil
}

func cacheDirOrDefault(dir string) string {
	if dir != "" {
		return dir
	}
	dir, _ = runner.DefaultSpecCacheDir() // no cache dir: no caching
	return dir
}

// openRuntime returns the runtime to run the connector on, and what closes
// it. A Docker runtime gets an instance ID of its own, so a daemon's sweep
// never removes the container of a CLI run.
func openRuntime(ctx context.Context, e *env, name string) (runner.Runtime, func(), error) {
	switch name {
	case "local":
		return local.New(local.Options{Logger: e.log}), func() {}, nil
	case "docker":
	default:
		return nil, nil, usageError("--runtime %q: want docker or local", name)
	}
	unavailable := func(err error) error {
		return &exitError{code: exitUnavailable, msg: fmt.Sprintf("%v (is Docker running? --runtime local runs connector binaries instead)", err)}
	}
	c, err := docker.NewClient()
	if err != nil {
		return nil, nil, unavailable(err)
	}
	var b [6]byte
	rand.Read(b[:])
	rt, err := docker.New(c, docker.Options{InstanceID: "cli-" + hex.EncodeToString(b[:]), Logger: e.log})
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = rt.Ping(pctx)
		cancel()
	}
	if err != nil {
		c.Close()
		return nil, nil, unavailable(err)
	}
	return rt, func() { c.Close() }, nil
}

// printer writes answers readably, or as Airbyte messages with --json.
type printer struct {
	w     io.Writer
	json  bool
	image string
}

func (p printer) message(m *protocol.Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.w, "%s\n", b)
	return err
}

func (p printer) spec(res *runner.SpecResult, cached bool) error {
	if p.json {
		return p.message(&protocol.Message{Type: protocol.TypeSpec, Spec: res.Spec})
	}
	fmt.Fprintf(p.w, "Spec of %s", p.image)
	if res.ImageID != "" {
		fmt.Fprintf(p.w, " (image %s", short(res.ImageID))
		if cached {
			fmt.Fprint(p.w, ", cached")
		}
		fmt.Fprint(p.w, ")")
	}
	fmt.Fprintln(p.w)
	if s := res.Spec; s != nil {
		printField(p.w, "Documentation", s.DocumentationURL)
		printField(p.w, "Protocol version", s.ProtocolVersion)
		printField(p.w, "Destination sync modes", strings.Join(s.SupportedDestinationSyncModes, ", "))
		printProperties(p.w, s.ConnectionSpecification)
	}
	return nil
}

func (p printer) check(res *runner.CheckResult) error {
	if p.json {
		err := p.message(&protocol.Message{Type: protocol.TypeConnectionStatus, ConnectionStatus: res.Status})
		if err == nil && !res.Succeeded() {
			err = &exitError{code: exitFailed}
		}
		return err
	}
	if res.Succeeded() {
		fmt.Fprintln(p.w, res.Status.Status)
		return nil
	}
	fmt.Fprintf(p.w, "%s: %s\n", res.Status.Status, res.Status.Message)
	return &exitError{code: exitFailed}
}

func (p printer) discover(res *runner.DiscoverResult) error {
	if res.Catalog == nil { // a destination's DESTINATION_CATALOG
		if p.json {
			return p.message(&protocol.Message{Type: protocol.TypeDestinationCatalog, DestinationCatalog: res.DestinationCatalog})
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, res.DestinationCatalog, "", "  "); err != nil {
			return err
		}
		_, err := fmt.Fprintf(p.w, "%s\n", buf.Bytes())
		return err
	}
	if p.json {
		return p.message(&protocol.Message{Type: protocol.TypeCatalog, Catalog: res.Catalog})
	}
	fmt.Fprintf(p.w, "Catalog of %s: %d streams\n\n", p.image, len(res.Catalog.Streams))
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tNAMESPACE\tSYNC MODES\tCURSOR\tPRIMARY KEY\tFIELDS")
	for _, s := range res.Catalog.Streams {
		var schema struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		json.Unmarshal(s.JSONSchema, &schema) // a schema we cannot read shows 0 fields
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", s.Name, s.Namespace, strings.Join(s.SupportedSyncModes, ","),
			strings.Join(s.DefaultCursorField, "."), joinKeys(s.SourceDefinedPrimaryKey), len(schema.Properties))
	}
	return tw.Flush()
}

// failure reports an error: a connector's failure as its message (and,
// with --json, as an ERROR trace on stdout), anything else as Ferry's.
func (p printer) failure(err error) error {
	var ce *runner.ConnectorError
	var nf *runner.ImageNotFoundError
	switch {
	case errors.As(err, &ce):
		if p.json {
			trace := protocol.ErrorTrace{Message: ce.Message, FailureType: cmp.Or(ce.FailureType, protocol.FailureSystem)}
			if len(ce.Output.Errors) > 0 && ce.Output.Errors[0].Message == ce.Message {
				trace = ce.Output.Errors[0]
			}
			p.message(&protocol.Message{Type: protocol.TypeTrace, Trace: &protocol.Trace{
				Type: protocol.TraceError, EmittedAt: protocol.Millis(time.Now().UnixMilli()), Error: &trace}})
		}
		return &exitError{code: exitFailed, msg: ce.Message}
	case errors.As(err, &nf):
		return &exitError{code: exitUnavailable, msg: err.Error()}
	}
	return err
}

func printField(w io.Writer, name, value string) {
	if value != "" {
		fmt.Fprintf(w, "%s: %s\n", name, value)
	}
}

// printProperties lists the top-level config properties of a connection
// specification, in their "order" and then by name.
func printProperties(w io.Writer, schema json.RawMessage) {
	var s struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Type        any    `json:"type"`
			Title       string `json:"title"`
			Description string `json:"description"`
			Secret      bool   `json:"airbyte_secret"`
			Order       *int   `json:"order"`
		} `json:"properties"`
	}
	if json.Unmarshal(schema, &s) != nil || len(s.Properties) == 0 {
		fmt.Fprintln(w, "\nNo config properties.")
		return
	}
	order := func(n string) int {
		if o := s.Properties[n].Order; o != nil {
			return *o
		}
		return 1 << 30
	}
	names := slices.Sorted(maps.Keys(s.Properties))
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(order(a), order(b)) })
	fmt.Fprintln(w, "\nConfig properties:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tTYPE\tREQUIRED\tSECRET\tDESCRIPTION")
	for _, n := range names {
		prop := s.Properties[n]
		desc := firstSentence(cmp.Or(prop.Description, prop.Title))
		fmt.Fprintf(tw, "  %s\t%v\t%s\t%s\t%s\n", n, prop.Type, yes(slices.Contains(s.Required, n)), yes(prop.Secret), desc)
	}
	tw.Flush()
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

// firstSentence keeps table rows short.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	if r := []rune(s); len(r) > 100 {
		s = string(r[:97]) + "..."
	}
	return s
}

func joinKeys(keys [][]string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = strings.Join(k, ".")
	}
	return strings.Join(parts, ",")
}

// short abbreviates a sha256 image ID as docker does.
func short(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(12, len(id))]
}
