package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/secret"
)

// printer writes answers readably, or as Airbyte messages with --json.
type printer struct {
	w     io.Writer
	json  bool
	image string
	// red masks secret values of the config in failures.
	red *secret.Redactor
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
			trace.Message, trace.InternalMessage = p.red.Redact(trace.Message), p.red.Redact(trace.InternalMessage)
			trace.StackTrace = p.red.Redact(trace.StackTrace)
			p.message(&protocol.Message{Type: protocol.TypeTrace, Trace: &protocol.Trace{
				Type: protocol.TraceError, EmittedAt: protocol.Millis(time.Now().UnixMilli()), Error: &trace}})
		}
		internal := ""
		if len(ce.Output.Errors) > 0 {
			internal = ce.Output.Errors[0].InternalMessage
		}
		return &exitError{code: exitFailed, msg: p.red.Redact(failureText(ce.Message, internal, runner.ErrorLogTail(ce.Output.Logs, 5)))}
	case errors.As(err, &nf):
		return &exitError{code: exitUnavailable, msg: err.Error()}
	}
	return err
}

// failureText is a failure as users read it: the connector's message,
// then its internal message when it says more (a Python connector's
// message is often "Something went wrong in the connector. See the logs
// for more details."), then its last error log lines.
func failureText(message, internal string, logs []string) string {
	var b strings.Builder
	b.WriteString(message)
	if internal = strings.TrimSpace(internal); internal != "" && internal != strings.TrimSpace(message) {
		b.WriteString("\n  cause: " + indentLines(internal, "    "))
	}
	if len(logs) > 0 {
		b.WriteString("\n  the connector's last error logs:")
		for _, l := range logs {
			b.WriteString("\n    " + indentLines(l, "      "))
		}
	}
	return b.String()
}

// indentLines indents the lines after the first.
func indentLines(s, indent string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+indent)
}

func printField(w io.Writer, name, value string) {
	if value != "" {
		fmt.Fprintf(w, "%s: %s\n", name, value)
	}
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
