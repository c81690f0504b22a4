package main

import (
	"context"
	"flag"
	"fmt"

	// Benthos' file input and output and its mapping processor.
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
)

// benthosConfig is the peer's stream: the captured JSONL file in, one
// message per line, a JSONL file out. With parse set, each line is parsed
// as JSON and written back (a mapping `root = this`), which is what a
// pipeline that looks at its records pays; without it the lines pass as
// bytes, the cheapest configuration Benthos has.
func benthosConfig(in, out string, parse bool) string {
	procs := "[]"
	if parse {
		procs = "[{mapping: 'root = this'}]"
	}
	return fmt.Sprintf(`
input:
  file:
    paths: [%q]
    scanner:
      lines:
        max_buffer_size: 67108864
pipeline:
  processors: %s
output:
  file:
    path: %q
    codec: lines
logger:
  level: none
metrics:
  none: {}
http:
  enabled: false
`, in, procs, out)
}

// runBenthos is the `benthos` subcommand: the peer runs in its own process
// so that the driver measures its CPU the way it measures Ferry's.
func runBenthos(args []string) error {
	fs := flag.NewFlagSet("benthos", flag.ContinueOnError)
	in := fs.String("in", "", "the captured JSONL file")
	out := fs.String("out", "", "the JSONL file to write")
	parse := fs.Bool("parse", false, "parse each line as JSON (mapping root = this)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return fmt.Errorf("benthos: -in and -out are required")
	}
	b := service.NewStreamBuilder()
	if err := b.SetYAML(benthosConfig(*in, *out, *parse)); err != nil {
		return fmt.Errorf("benthos config: %w", err)
	}
	s, err := b.Build()
	if err != nil {
		return fmt.Errorf("benthos build: %w", err)
	}
	// The stream ends by itself once the file input is exhausted and the
	// output has written every message.
	return s.Run(context.Background())
}
