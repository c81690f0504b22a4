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
	"os"
	"slices"
	"time"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/docker"
	"github.com/ferrysync/ferry/runner/local"
	"github.com/ferrysync/ferry/secret"
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

	if *localRoot, err = prepareLocalRoot(*localRoot, *rtName); err != nil {
		return usageError("--local-root: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	base := runner.ConnectorSpec{
		Name: "ferry-cli-" + command, Image: image, Role: runner.RoleConnector,
		LocalRoot: *localRoot, NetworkMode: *network, StopTimeout: 5 * time.Second,
		LocalUser: localUser(*localRoot, *rtName, e),
	}
	p := printer{w: e.stdout, json: *asJSON, image: image, red: secret.NewRedactor(nil)}
	if config != nil {
		// The connector's answer may quote its config: mask the secret
		// values its spec names in whatever is printed. Without a spec
		// (it failed), there is nothing to name them by.
		if spec, err := connectorSpec(ctx, rt, image); err == nil {
			p.red = secret.NewRedactor(secret.Values(spec.ConnectionSpecification, config))
		}
	}
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
