// Command bench is `make bench-sync`: Ferry's data paths and a peer,
// Benthos, moving the same records in one run, runs interleaved so that
// the load of a shared machine falls on all of them alike. For each path
// it prints records/s and MB/s (wall time) and, the primary figures,
// CPU-seconds per million records (the process tree on the local runtime,
// plus the containers' cgroup CPU on Docker) and peak RSS.
//
//	bench [flags]              the driver (make bench-sync passes the flags)
//	bench benthos -in F -out F the peer, run by the driver as a process
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// options are the driver's flags.
type options struct {
	root         string // the Ferry checkout (bin/ferry, bin/connectors)
	records      int
	reps         int
	runtimes     []string
	tag          string
	peer         bool
	socketCounts []int
	scaleRecords []int
	scaleSizes   []int
	work         string
	only         string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "benthos" {
		if err := runBenthos(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	o := &options{}
	var runtimes, sockets, scaleRecords, scaleSizes string
	fs.StringVar(&o.root, "root", "..", "the Ferry checkout holding bin/ferry and bin/connectors")
	fs.IntVar(&o.records, "records", 1000000, "faker records per run of the main paths")
	fs.IntVar(&o.reps, "reps", 2, "runs of each path, interleaved; the report shows the least CPU")
	fs.StringVar(&runtimes, "runtimes", "local,docker", "runtimes to measure: local, docker")
	fs.StringVar(&o.tag, "tag", "dev", "the tag of the ferry/* connector images")
	fs.BoolVar(&o.peer, "peer", true, "run the peer (Benthos) on the same records")
	fs.StringVar(&sockets, "sockets", "2,8", "socket counts of the Docker socket paths")
	fs.StringVar(&scaleRecords, "scale-records", "100000,1000000", "record counts of the scaling rows (empty: none)")
	fs.StringVar(&scaleSizes, "scale-sizes", "50,5000", "approximate record sizes in bytes of the scaling rows")
	fs.StringVar(&o.only, "only", "", "run only the paths whose name contains one of these |-separated strings (names hold commas)")
	fs.StringVar(&o.work, "work", "", "work directory (default: a temporary one, removed at the end)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var err error
	o.runtimes = splitList(runtimes)
	if o.socketCounts, err = intList(sockets); err != nil {
		return nil, fmt.Errorf("-sockets: %w", err)
	}
	if o.scaleRecords, err = intList(scaleRecords); err != nil {
		return nil, fmt.Errorf("-scale-records: %w", err)
	}
	if o.scaleSizes, err = intList(scaleSizes); err != nil {
		return nil, fmt.Errorf("-scale-sizes: %w", err)
	}
	if o.records <= 0 || o.reps <= 0 {
		return nil, fmt.Errorf("-records and -reps must be positive")
	}
	if o.root, err = filepath.Abs(o.root); err != nil {
		return nil, err
	}
	return o, nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func (o *options) has(rt string) bool {
	for _, r := range o.runtimes {
		if r == rt {
			return true
		}
	}
	return false
}
