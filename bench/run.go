package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

func run(o *options) error {
	b := &bench{o: o, ferry: o.root + "/bin/ferry"}
	if o.work != "" {
		b.work = o.work
	} else {
		d, err := os.MkdirTemp("", "ferry-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		b.work = d
	}
	os.Chmod(b.work, 0o755) //nolint:errcheck // containers read the configs
	faker, err := b.newWorkload("faker", "source-faker",
		fmt.Sprintf(`{"count":%d,"seed":42,"records_per_slice":10000}`, o.records), "purchases", o.records)
	if err != nil {
		return err
	}
	// docker version asks the engine only for its version; docker info also
	// counts containers and images, and stalls on a busy engine.
	docker := o.has("docker") && exec.Command("docker", "version").Run() == nil
	if o.has("docker") && !docker {
		fmt.Fprintln(os.Stderr, "bench: docker: no engine answers; the Docker paths are skipped")
	}
	if o.has("local") {
		b.add(b.pipePath("plain pipe, faker | null", faker, "destination-null"))
		b.add(b.ferryPath("local", "ferry stdio, faker -> null", faker, "destination-null", "--mode", "stdio"))
		b.add(b.pipePath("plain pipe, faker | jsonl", faker, "destination-jsonl"))
		b.add(b.ferryPath("local", "ferry stdio, faker -> jsonl", faker, "destination-jsonl", "--mode", "stdio"))
	}
	if o.peer {
		fmt.Fprintln(os.Stderr, "bench: capturing the faker records for the peer")
		capture, err := b.capture(faker)
		if err != nil {
			return fmt.Errorf("capture: %w", err)
		}
		b.add(b.benthosPath(faker, capture, false))
		b.add(b.benthosPath(faker, capture, true))
	}
	if docker {
		b.add(b.dockerPipePath(faker, "destination-null"))
		b.add(b.ferryPath("docker", "ferry stdio, faker -> null", faker, "destination-null", "--mode", "stdio"))
		fakerStart, err := b.newWorkload("faker-start", "source-faker", `{"count":8,"seed":42,"records_per_slice":10000}`, "purchases", 8)
		if err != nil {
			return err
		}
		widest := slices.Max(o.socketCounts)
		for _, f := range []string{"JSONL", "PROTOBUF"} {
			for _, n := range o.socketCounts {
				p := b.ferryPath("docker", fmt.Sprintf("ferry socket %s x%d, faker -> null", f, n), faker, "destination-null",
					"--mode", "socket", "--format", f, "--sockets", strconv.Itoa(n))
				if n == widest {
					p.start = b.ferryPath("docker", p.name+", start and stop", fakerStart, "destination-null", "--mode", "socket", "--format", f, "--sockets", strconv.Itoa(n))
				}
				b.add(p)
			}
			n := o.socketCounts[len(o.socketCounts)-1]
			b.add(b.ferryPath("docker", fmt.Sprintf("ferry socket %s x%d, faker -> jsonl", f, n), faker, "destination-jsonl",
				"--mode", "socket", "--format", f, "--sockets", strconv.Itoa(n)))
		}
		b.add(b.ferryPath("docker", "ferry bridged JSONL x2, faker -> null", faker, "destination-null",
			"--mode", "bridged", "--format", "JSONL", "--sockets", "2"))
		// faker's generation and protobuf encoding take most of a socket
		// path's CPU; connector-scripted's padded records cost its source
		// little per byte, so these rows show what the path itself moves.
		n := o.socketCounts[len(o.socketCounts)-1]
		if w, err := b.cheapSocketWorkload(n, o.records); err != nil {
			return err
		} else if w != nil {
			start, err := b.cheapSocketWorkload(n, n)
			if err != nil {
				return err
			}
			for _, f := range []string{"JSONL", "PROTOBUF"} {
				flags := []string{"--mode", "socket", "--format", f, "--sockets", strconv.Itoa(n)}
				p := b.ferryPath("docker", fmt.Sprintf("ferry socket %s x%d, scripted 5000 B -> null", f, n), w, "destination-null", flags...)
				p.start = b.ferryPath("docker", p.name+", start and stop", start, "destination-null", flags...)
				b.add(p)
			}
		}
	}
	if o.has("local") {
		for _, size := range o.scaleSizes {
			for _, n := range o.scaleRecords {
				w, err := b.newWorkload(fmt.Sprintf("scripted-%d-%d", size, n), "connector-scripted",
					fmt.Sprintf(`{"streams":["items"],"source":{"records":%d,"record_bytes":%d,"state_every":10000}}`, n, size), "items", n)
				if err != nil {
					return err
				}
				b.add(b.pipePath(fmt.Sprintf("plain pipe, scripted %d B | null", size), w, "destination-null"))
				b.add(b.ferryPath("local", fmt.Sprintf("ferry stdio, scripted %d B -> null", size), w, "destination-null", "--mode", "stdio"))
			}
		}
	}
	raw := rawRuns{}
	for rep := 1; rep <= o.reps; rep++ {
		for _, p := range b.paths {
			fmt.Fprintf(os.Stderr, "bench: run %d/%d: %s %s (%d records)\n", rep, o.reps, p.runtime, p.name, p.w.records)
			s, err := p.run()
			if err != nil {
				return fmt.Errorf("%s %s: %w", p.runtime, p.name, err)
			}
			p.samples = append(p.samples, s)
		}
		if docker && b.hasSocketPaths() {
			b.measureRaw(raw)
		}
	}
	b.report(raw)
	return nil
}

// hasSocketPaths reports whether a socket row will be compared with the
// raw socket.
func (b *bench) hasSocketPaths() bool {
	for _, p := range b.paths {
		if p.runtime == "docker" && strings.HasPrefix(p.name, "ferry socket ") {
			return true
		}
	}
	return false
}

// cheapSocketWorkload is connector-scripted with one stream per socket
// (its streams are its partitions) and records padded to about 5 KB: as
// many as faker's rows move, about sixteen times their bytes (5 GB for a
// million), so that the containers' start weighs little in the wall time
// and the raw socket comparison is not a measure of start-up; or nil
// when that is less than one record a stream.
func (b *bench) cheapSocketWorkload(sockets, records int) (*workload, error) {
	per := records / sockets
	if per == 0 {
		return nil, nil
	}
	var streams []string
	for i := 1; i <= sockets; i++ {
		streams = append(streams, fmt.Sprintf("s%d", i))
	}
	names, _ := json.Marshal(streams)
	return b.newWorkloadOf(fmt.Sprintf("scripted-socket-%d-%d", sockets, per), "connector-scripted",
		fmt.Sprintf(`{"streams":%s,"source":{"records":%d,"record_bytes":5000,"state_every":1000}}`, names, per), streams, per*sockets)
}

func (b *bench) add(p *path) {
	if b.o.only != "" && !slices.ContainsFunc(strings.Split(b.o.only, "|"), func(s string) bool { return strings.Contains(p.name, s) }) {
		return
	}
	b.paths = append(b.paths, p)
	if p.start != nil {
		p.start.fixed = true
		b.paths = append(b.paths, p.start)
	}
}
