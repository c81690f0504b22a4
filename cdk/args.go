package cdk

import (
	"fmt"
	"strings"
)

// Commands of the connector CLI (docs/protocol.md 1.1).
const (
	CmdSpec     = "spec"
	CmdCheck    = "check"
	CmdDiscover = "discover"
	CmdRead     = "read"
	CmdWrite    = "write"
)

// invocation is a parsed command line.
type invocation struct {
	cmd     string
	config  string
	catalog string
	state   string
}

// usageError is a malformed command line. The kit exits 2 on it, as the
// Python CDK's argument parser does.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// parseArgs parses "<command> [--flag value | --flag=value]...". It accepts
// and ignores --debug, which the Python CDK takes. Every other flag must be
// one the command uses, and required ones must be present.
func parseArgs(args []string) (*invocation, error) {
	if len(args) == 0 {
		return nil, &usageError{"usage: <spec|check|discover|read|write> [--config FILE] [--catalog FILE] [--state FILE]"}
	}
	inv := &invocation{cmd: args[0]}
	allowed := map[string]*string{}
	var required []string
	switch inv.cmd {
	case CmdSpec:
	case CmdCheck, CmdDiscover:
		allowed["config"] = &inv.config
		required = []string{"config"}
	case CmdRead:
		allowed["config"], allowed["catalog"], allowed["state"] = &inv.config, &inv.catalog, &inv.state
		required = []string{"config", "catalog"}
	case CmdWrite:
		allowed["config"], allowed["catalog"] = &inv.config, &inv.catalog
		required = []string{"config", "catalog"}
	default:
		return nil, &usageError{fmt.Sprintf("unknown command %q: want spec, check, discover, read or write", inv.cmd)}
	}
	rest := args[1:]
	for len(rest) > 0 {
		arg := rest[0]
		rest = rest[1:]
		name, value, hasValue := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		if !strings.HasPrefix(arg, "--") || name == "" {
			return nil, &usageError{fmt.Sprintf("%s: unexpected argument %q", inv.cmd, arg)}
		}
		if name == "debug" {
			continue
		}
		dst, ok := allowed[name]
		if !ok {
			return nil, &usageError{fmt.Sprintf("%s: unknown flag --%s", inv.cmd, name)}
		}
		if !hasValue {
			if len(rest) == 0 {
				return nil, &usageError{fmt.Sprintf("%s: flag --%s needs a file path", inv.cmd, name)}
			}
			value, rest = rest[0], rest[1:]
		}
		*dst = value
	}
	for _, name := range required {
		if *allowed[name] == "" {
			return nil, &usageError{fmt.Sprintf("%s: --%s is required", inv.cmd, name)}
		}
	}
	return inv, nil
}
