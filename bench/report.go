package main

import (
	"fmt"
	"slices"
	"strings"
)

// best is the run with the least CPU: on a shared machine other work only
// ever adds to a figure, so the least is the closest to the path's own.
func (p *path) best() sample {
	b := p.samples[0]
	for _, s := range p.samples[1:] {
		if s.cpu < b.cpu {
			b = s
		}
	}
	return b
}

// worst is the largest CPU seen, to show the spread.
func (p *path) worst() float64 {
	w := 0.0
	for _, s := range p.samples {
		w = max(w, s.cpu)
	}
	return w
}

// perM scales seconds over a workload to seconds per million records.
func perM(secs float64, w *workload) float64 { return secs / float64(w.records) * 1e6 }

func (b *bench) find(rt, name string) *path {
	for _, p := range b.paths {
		if p.runtime == rt && p.name == name {
			return p
		}
	}
	return nil
}

// findFor is find among the paths of one workload.
func (b *bench) findFor(rt, name string, w *workload) *path {
	for _, p := range b.paths {
		if p.runtime == rt && p.name == name && p.w == w {
			return p
		}
	}
	return nil
}

func (b *bench) report(raw rawRuns) {
	fmt.Printf("%-7s %-46s %9s %6s %7s %10s %8s %16s %10s %9s\n", "runtime", "path", "records", "B/rec", "wall s",
		"records/s", "MB/s", "CPU-s/1M (max)", "own/1M", "peak RSS")
	for _, p := range b.paths {
		if p.fixed {
			continue // in the raw socket lines
		}
		s := p.best()
		own := "-"
		if s.own > 0 {
			own = fmt.Sprintf("%.2f", perM(s.own, p.w))
		}
		rss := "-"
		if s.rss > 0 {
			rss = fmt.Sprintf("%d MiB", s.rss/1024)
		}
		mbs := float64(p.w.records) * p.recBytes() / s.wall.Seconds() / 1e6
		fmt.Printf("%-7s %-46s %9d %6.0f %7.2f %10.0f %8.1f %7.2f (%6.2f) %10s %9s\n", p.runtime, p.name, p.w.records,
			p.recBytes(), s.wall.Seconds(), float64(p.w.records)/s.wall.Seconds(), mbs,
			perM(s.cpu, p.w), perM(p.worst(), p.w), own, rss)
	}
	fmt.Printf("(best of %d interleaved runs by CPU; CPU-s/1M is the whole path: processes and containers; own/1M is Ferry's or the peer's process alone; "+
		"B/rec of a Ferry row is what its destination counted: protobuf bytes for PROTOBUF, JSON for the rest)\n", b.o.reps)
	b.overheadLines()
	b.dockerLines(raw)
	b.summary()
}

// overheadLines relate Ferry's stdio path to the plain pipe, per record
// and per byte, for each workload that has both.
func (b *bench) overheadLines() {
	for _, p := range b.paths {
		if p.runtime != "local" || !strings.HasPrefix(p.name, "plain pipe") {
			continue
		}
		f := b.findFor("local", strings.Replace(strings.Replace(p.name, "plain pipe", "ferry stdio", 1), " | ", " -> ", 1), p.w)
		if f == nil {
			continue
		}
		extra := (f.best().cpu - p.best().cpu) / float64(p.w.records) * 1e6
		fmt.Printf("local: %s (%d records of %.0f B): Ferry adds %.3f µs CPU per record over the plain pipe (%.2f ns/byte); Ferry's own process %.3f µs per record\n",
			strings.TrimPrefix(f.name, "ferry stdio, "), p.w.records, p.w.recBytes, extra, extra*1000/p.w.recBytes,
			f.best().own/float64(p.w.records)*1e6)
	}
	null, jsonl := b.find("local", "plain pipe, faker | null"), b.find("local", "plain pipe, faker | jsonl")
	if null != nil && jsonl != nil {
		fmt.Printf("local: plain pipe, destination-jsonl vs destination-null: %.2fx the CPU of the destination alone, %.2fx the whole pipe (target <= 1.5x)\n",
			jsonl.best().dest/null.best().dest, jsonl.best().cpu/null.best().cpu)
	}
}

func (b *bench) dockerLines(raw rawRuns) {
	pj, jj := b.lastSocket("PROTOBUF", "faker", "jsonl"), b.lastSocket("JSONL", "faker", "jsonl")
	if pj != nil && jj != nil {
		fmt.Printf("docker: into destination-jsonl, socket PROTOBUF %.2f CPU-s/1M, socket JSONL %.2f (target: PROTOBUF <= JSONL)\n",
			perM(pj.best().cpu, pj.w), perM(jj.best().cpu, jj.w))
	}
	ref, sockets := raw.best()
	if ref <= 0 {
		return
	}
	fmt.Printf("docker: raw Unix sockets between two containers (scripts/sockbench: %d MB over 1 and %d sockets, 1 MiB writes and reads, "+
		"timed from connection to the last byte): best %.0f MB/s, with %d (runs, MB/s: %s)\n",
		rawBytes/1000000, slices.Max(b.o.socketCounts), ref, sockets, raw.describe())
	// faker's rows measure its generation as much as the path; the
	// scripted source's, which costs little per byte, the path.
	for _, src := range []string{"faker", "scripted"} {
		for _, f := range []string{"JSONL", "PROTOBUF"} {
			if p := b.lastSocket(f, src, "null"); p != nil {
				b.rawLine(p, ref)
			}
		}
	}
}

// rawLine compares a socket path with the raw socket: over its whole run,
// and without what its start-and-stop twin takes, since the raw figure
// leaves the containers' start and stop out too. Both walls are the
// shortest of the runs, as the raw figure is the best of its runs.
func (b *bench) rawLine(p *path, raw float64) {
	moved := float64(p.w.records) * p.recBytes()
	whole := moved / p.minWall() / 1e6
	line := fmt.Sprintf("docker: %s moves %.0f MB/s over its whole run, %.0f%% of the raw socket", p.name, whole, whole/raw*100)
	if p.start != nil && len(p.start.samples) > 0 {
		// Start and stop swing with the machine's load; once they are
		// most of a run, what is left is too short to tell a rate.
		fixed := p.start.minWall()
		if d := p.minWall() - fixed; d > fixed {
			data := moved / d / 1e6
			line += fmt.Sprintf("; %.0f MB/s, %.0f%%, without the %.2f s of a %d-record sync of the same path (start and stop)",
				data, data/raw*100, fixed, p.start.w.records)
		} else {
			line += fmt.Sprintf("; start and stop (%.2f s, a %d-record sync of the same path) take most of its run", fixed, p.start.w.records)
		}
	}
	fmt.Println(line + " (target >= 50%)")
}

// lastSocket is the socket path of a format from a source (faker or
// scripted) into a destination with the most sockets.
func (b *bench) lastSocket(format, src, dest string) *path {
	var out *path
	for _, p := range b.paths {
		if p.runtime == "docker" && !p.fixed && strings.HasPrefix(p.name, "ferry socket "+format+" ") && strings.HasSuffix(p.name, "-> "+dest) &&
			strings.Contains(p.name, ", "+src) {
			out = p
		}
	}
	return out
}

// summary compares Ferry's stdio path into a JSONL file with the peer
// writing a JSONL file from the same records, in its cheapest
// configuration; without those, it says what is missing.
func (b *bench) summary() {
	f := b.find("local", "ferry stdio, faker -> jsonl")
	var peer *path
	for _, p := range b.paths {
		if strings.HasPrefix(p.name, "benthos") && (peer == nil || p.best().cpu < peer.best().cpu) {
			peer = p
		}
	}
	if f == nil || peer == nil {
		fmt.Println("bench: no summary: it needs the local runtime and the peer")
		return
	}
	x, y := perM(f.best().cpu, f.w), perM(peer.best().cpu, peer.w)
	fmt.Printf("bench: ferry stdio %.2f CPU-s/1M, benthos %.2f CPU-s/1M, ferry is %.1fx leaner\n", x, y, y/x)
}
