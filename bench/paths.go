package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// workload is one set of records: a source and its config and catalog.
type workload struct {
	name     string
	source   string // connector name
	config   string // source config file
	catalog  string // configured catalog file
	records  int
	recBytes float64 // mean RECORD line bytes, known after the first run
}

// path is one way of moving a workload; run measures it once.
type path struct {
	runtime string
	name    string
	w       *workload
	run     func() (sample, error)
	samples []sample
	// start is the same path over a workload of a record or so a
	// stream: what a run costs besides moving records (starting and
	// stopping the containers), run next to it. fixed marks such a path.
	start *path
	fixed bool
}

// recBytes is the mean bytes of a record as this path carried them: its
// own count when Ferry reported one (a PROTOBUF record is smaller than
// its JSON), else the workload's.
func (p *path) recBytes() float64 {
	if len(p.samples) > 0 && p.samples[0].bytes > 0 {
		return float64(p.samples[0].bytes) / float64(p.w.records)
	}
	return p.w.recBytes
}

// minWall is the shortest wall time of the path's runs.
func (p *path) minWall() float64 {
	w := p.samples[0].wall
	for _, s := range p.samples[1:] {
		w = min(w, s.wall)
	}
	return w.Seconds()
}

// bench holds the driver's state.
type bench struct {
	o     *options
	work  string
	ferry string
	paths []*path
	runs  int // ferry runs, to name their local roots
}

func (b *bench) bin(name string) string { return filepath.Join(b.o.root, "bin", "connectors", name) }
func (b *bench) image(name string) string {
	return "ferry/" + name + ":" + b.o.tag
}

// connector is a connector's reference on a runtime.
func (b *bench) connector(rt, name string) string {
	if rt == "docker" {
		return b.image(name)
	}
	return b.bin(name)
}

func (b *bench) writeFile(name, content string) string {
	p := filepath.Join(b.work, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		panic(err)
	}
	return p
}

// newWorkload discovers the source's stream and writes its configured
// catalog: that stream only, incremental append.
func (b *bench) newWorkload(name, source, config, stream string, records int) (*workload, error) {
	return b.newWorkloadOf(name, source, config, []string{stream}, records)
}

// newWorkloadOf is newWorkload with several streams; records counts all
// of theirs.
func (b *bench) newWorkloadOf(name, source, config string, streams []string, records int) (*workload, error) {
	w := &workload{name: name, source: source, records: records}
	w.config = b.writeFile(name+".config.json", config)
	out, err := exec.Command(b.ferry, "connector", "discover", "--runtime", "local", "--json",
		"--config", w.config, b.bin(source)).Output()
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", source, err)
	}
	var d struct {
		Catalog struct {
			Streams []map[string]any `json:"streams"`
		} `json:"catalog"`
	}
	if err := json.Unmarshal(out, &d); err != nil {
		return nil, fmt.Errorf("discover %s: %w", source, err)
	}
	var configured []any
	for _, want := range streams {
		found := false
		for _, s := range d.Catalog.Streams {
			if s["name"] != want {
				continue
			}
			cs := map[string]any{"stream": s, "sync_mode": "incremental", "destination_sync_mode": "append"}
			if c, ok := s["default_cursor_field"]; ok {
				cs["cursor_field"] = c
			}
			configured, found = append(configured, cs), true
		}
		if !found {
			return nil, fmt.Errorf("%s discovers no stream %q", source, want)
		}
	}
	cat, _ := json.Marshal(map[string]any{"streams": configured})
	w.catalog = b.writeFile(name+".catalog.json", string(cat))
	return w, nil
}

// destConfig returns a destination's config file.
func (b *bench) destConfig(dest string) string {
	if dest == "destination-jsonl" {
		return b.writeFile("jsonl.json", `{"destination_path":"/local/out"}`)
	}
	return b.writeFile("null.json", `{}`)
}

// ferryResult is the part of `ferry sync --json` the driver checks.
type ferryResult struct {
	Status string `json:"status"`
	Stats  struct {
		RecordsCommitted int64 `json:"recordsCommitted"`
		BytesEmitted     int64 `json:"bytesEmitted"`
	} `json:"stats"`
	Failures json.RawMessage `json:"failures"`
}

// ferryPath is one `ferry sync` of a workload.
func (b *bench) ferryPath(rt, name string, w *workload, dest string, flags ...string) *path {
	return &path{runtime: rt, name: name, w: w, run: func() (sample, error) {
		b.runs++
		root := filepath.Join(b.work, fmt.Sprintf("local-%d", b.runs))
		defer os.RemoveAll(root)
		args := append([]string{"sync", "--runtime", rt, "--json",
			"--source", b.connector(rt, w.source), "--source-config", w.config,
			"--destination", b.connector(rt, dest), "--destination-config", b.destConfig(dest),
			"--catalog", w.catalog, "--local-root", root, "--log", filepath.Join(b.work, "ferry.log")}, flags...)
		cmd := exec.Command(b.ferry, args...)
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
		var cw *containerCPU
		if rt == "docker" {
			cw = watchContainers(b.o.tag)
		}
		start := time.Now()
		pr, err := runProc(cmd)
		s := sample{wall: time.Since(start), cpu: pr.tree, own: pr.self, rss: pr.rss}
		if cw != nil {
			secs, _ := cw.total()
			s.cpu += secs
		}
		var res ferryResult
		if jerr := json.Unmarshal(stdout.Bytes(), &res); jerr != nil {
			return s, fmt.Errorf("ferry sync %v: %v (output %q)", flags, err, stdout.String())
		}
		if res.Status != "succeeded" || res.Stats.RecordsCommitted != int64(w.records) {
			return s, fmt.Errorf("ferry sync %v: %s, %d records committed of %d: %s", flags, res.Status, res.Stats.RecordsCommitted, w.records, res.Failures)
		}
		if w.recBytes == 0 {
			w.recBytes = float64(res.Stats.BytesEmitted) / float64(w.records)
		}
		s.bytes = res.Stats.BytesEmitted
		return s, nil
	}}
}

// pipePath is the baseline: the source's stdout piped straight into the
// destination's stdin, no Ferry.
func (b *bench) pipePath(name string, w *workload, dest string) *path {
	return &path{runtime: "local", name: name, w: w, run: func() (sample, error) {
		root := filepath.Join(b.work, "pipe-root")
		defer os.RemoveAll(root)
		if err := os.MkdirAll(root, 0o755); err != nil {
			return sample{}, err
		}
		src := exec.Command(b.bin(w.source), "read", "--config", w.config, "--catalog", w.catalog)
		dst := exec.Command(b.bin(dest), "write", "--config", b.destConfig(dest), "--catalog", w.catalog)
		dst.Env = append(os.Environ(), "FERRY_LOCAL_ROOT="+root)
		src.Stderr, dst.Stderr = os.Stderr, os.Stderr
		start := time.Now()
		sr, dr, err := runPipe(src, dst)
		return sample{wall: time.Since(start), cpu: sr.tree + dr.tree, dest: dr.tree, rss: max(sr.rss, dr.rss)}, err
	}}
}

// dockerPipePath joins two containers with `docker run | docker run -i`.
func (b *bench) dockerPipePath(w *workload, dest string) *path {
	return &path{runtime: "docker", name: "docker run | docker run -i, faker | null", w: w, run: func() (sample, error) {
		mount := b.work + ":" + b.work + ":ro"
		src := exec.Command("docker", "run", "--rm", "--log-driver", "none", "-v", mount, b.image(w.source),
			"read", "--config", w.config, "--catalog", w.catalog)
		dst := exec.Command("docker", "run", "--rm", "-i", "--log-driver", "none", "-v", mount, b.image(dest),
			"write", "--config", b.destConfig(dest), "--catalog", w.catalog)
		src.Stderr, dst.Stderr = os.Stderr, os.Stderr
		cw := watchContainers(b.o.tag)
		start := time.Now()
		sr, dr, err := runPipe(src, dst)
		s := sample{wall: time.Since(start), cpu: sr.tree + dr.tree}
		secs, _ := cw.total()
		s.cpu += secs
		return s, err
	}}
}

// benthosPath runs the peer on the captured records.
func (b *bench) benthosPath(w *workload, capture string, parse bool) *path {
	name := "benthos: captured JSONL file -> JSONL file"
	if parse {
		name += ", parsed"
	}
	return &path{runtime: "local", name: name, w: w, run: func() (sample, error) {
		out := filepath.Join(b.work, "benthos-out.jsonl")
		defer os.Remove(out)
		self, err := os.Executable()
		if err != nil {
			return sample{}, err
		}
		args := []string{"benthos", "-in", capture, "-out", out}
		if parse {
			args = append(args, "-parse")
		}
		cmd := exec.Command(self, args...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		start := time.Now()
		pr, err := runProc(cmd)
		s := sample{wall: time.Since(start), cpu: pr.tree, own: pr.self, rss: pr.rss}
		if err != nil {
			return s, fmt.Errorf("benthos: %w", err)
		}
		if n, err := countLines(out); err != nil || n != w.records {
			return s, fmt.Errorf("benthos wrote %d lines, want %d (%v)", n, w.records, err)
		}
		return s, nil
	}}
}

// capture runs the source once and keeps its RECORD lines: the peer's
// input, the same records Ferry's runs carry.
func (b *bench) capture(w *workload) (string, error) {
	p := filepath.Join(b.work, w.name+".records.jsonl")
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	cmd := exec.Command(b.bin(w.source), "read", "--config", w.config, "--catalog", w.catalog)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n, size := 0, 0
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), []byte(`{"type":"RECORD"`)) {
			bw.Write(sc.Bytes())
			bw.WriteByte('\n')
			n++
			size += len(sc.Bytes()) + 1
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if err := cmd.Wait(); err != nil {
		return "", err
	}
	if n != w.records {
		return "", fmt.Errorf("captured %d records, want %d", n, w.records)
	}
	w.recBytes = float64(size) / float64(n)
	return p, bw.Flush()
}

func countLines(p string) (int, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	buf := make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err != nil {
			return n, nil
		}
	}
}
