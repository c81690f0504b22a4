// Command soak is scenario 12, run by `make soak` (never by go test): a
// real `ferry serve` on Docker with 50 connections on a 1-minute cron for
// 10 minutes at the default worker limit, while 4 clients read the API
// without pause. At the end the schedules are switched off, the jobs
// drain, and one line reports the jobs, the lost ones (created but not
// final after the drain, or a cron tick that made no job and was not
// logged as skipped), overlapping attempts of one connection, containers
// left behind, the peak RSS of ferry serve and the API latencies. It
// exits 1 if anything was lost, overlapped or leaked.
//
// Environment: SOAK_MINUTES (10), SOAK_CONNECTIONS (50), SOAK_CLIENTS (4),
// FERRY_BIN (bin/ferry), SOAK_IMAGE (ferry/connector-scripted:dev),
// SOAK_DRAIN_MINUTES (5).
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
}

// soakConfig is read from the environment.
type soakConfig struct {
	minutes, drain       time.Duration
	connections, clients int
	bin, image, dataDir  string
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run() error {
	cfg := soakConfig{
		minutes: time.Duration(envInt("SOAK_MINUTES", 10)) * time.Minute, drain: time.Duration(envInt("SOAK_DRAIN_MINUTES", 5)) * time.Minute,
		connections: envInt("SOAK_CONNECTIONS", 50), clients: envInt("SOAK_CLIENTS", 4),
		bin: envStr("FERRY_BIN", "bin/ferry"), image: envStr("SOAK_IMAGE", "ferry/connector-scripted:dev"),
	}
	dir, err := os.MkdirTemp("", "ferry-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.dataDir = dir
	srv, err := startServe(cfg)
	if err != nil {
		return err
	}
	defer srv.stop()
	api := &client{base: srv.url, token: srv.token}
	conns, created, err := setup(api, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "soak: %d connections on a 1-minute cron for %s, %d API readers, ferry serve pid %d\n",
		len(conns), cfg.minutes, cfg.clients, srv.cmd.Process.Pid)
	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	lat := &latencies{}
	rss := &peak{}
	var wg sync.WaitGroup
	for i := range cfg.clients {
		wg.Add(1)
		go func() { defer wg.Done(); readLoop(ctx, api, conns, i, lat) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); rss.watch(ctx, srv.cmd.Process.Pid) }()
	time.Sleep(cfg.minutes)
	stopAt := time.Now()
	// Ticks due before stopAt are settled (a job, or a logged skip) within
	// the scheduler's MissedAfter (1 minute): let them, then stop the cron.
	time.Sleep(70 * time.Second)
	for _, c := range conns {
		if err := api.patch("/connections/"+c, map[string]any{"schedule": map[string]any{"scheduleType": "manual"}}); err != nil {
			return fmt.Errorf("stop the schedule of %s: %w", c, err)
		}
	}
	drained := drain(api, conns, cfg.drain)
	stopLoad()
	wg.Wait()
	r, err := account(api, conns, created, srv, stopAt)
	if err != nil {
		return err
	}
	srv.stop()
	r.leaked = leakedContainers(srv.instance)
	p50, p99 := lat.quantiles()
	fmt.Printf("soak: %d jobs, %d lost, %d overlaps, %d leaked containers, RSS max %d MiB, API p50 %d ms p99 %d ms\n",
		r.jobs, r.lost, r.overlaps, r.leaked, rss.max()>>20, p50.Milliseconds(), p99.Milliseconds())
	fmt.Fprintf(os.Stderr, "soak: %d cron ticks settled before the end, %d scheduled jobs, %d runs logged as skipped (the connection was busy)\n",
		r.ticks, r.scheduled, r.skipped)
	if !drained {
		fmt.Fprintln(os.Stderr, "soak: jobs were still active after the drain period")
	}
	for _, d := range r.details {
		fmt.Fprintln(os.Stderr, "soak:", d)
	}
	if r.lost > 0 || r.overlaps > 0 || r.leaked > 0 {
		os.Exit(1)
	}
	return nil
}

// served is the ferry serve process.
type served struct {
	cmd             *exec.Cmd
	url, token      string
	instance        string
	log             *logLines
	once            sync.Once
	exited          chan struct{}
	dataDir, listen string
}

func startServe(cfg soakConfig) (*served, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &served{url: "http://" + addr, log: &logLines{}, exited: make(chan struct{}), dataDir: cfg.dataDir, listen: addr}
	s.cmd = exec.Command(cfg.bin, "serve", "--data-dir", cfg.dataDir, "--listen", addr, "--runtime", "docker", "--no-demo")
	s.cmd.Env = append(os.Environ(), "FERRY_LOG_FORMAT=text")
	out, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stdout = os.Stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.log.read(out); s.cmd.Wait(); close(s.exited) }()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if tok, err := os.ReadFile(filepath.Join(cfg.dataDir, "token")); err == nil && len(tok) > 0 {
			c := &client{base: s.url, token: strings.TrimSpace(string(tok))}
			if c.get("/connections?limit=1", nil) == nil {
				s.token = c.token
				break
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("ferry serve exited at start")
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("ferry serve never answered")
		}
	}
	ids, _ := filepath.Glob(filepath.Join(cfg.dataDir, "instance*"))
	for _, p := range ids {
		if b, err := os.ReadFile(p); err == nil {
			s.instance = strings.TrimSpace(string(b))
		}
	}
	return s, nil
}

// stop ends ferry serve gracefully (SIGTERM), killing it after a minute.
func (s *served) stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(time.Minute):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// logLines keeps the lines of ferry serve's log that the account needs.
type logLines struct {
	mu      sync.Mutex
	skipped map[string][]time.Time // connection id -> the runs logged as skipped
}

func (l *logLines) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "scheduled run skipped") {
			continue
		}
		if _, rest, ok := strings.Cut(line, "connection_id="); ok {
			id, _, _ := strings.Cut(rest, " ")
			// A skip names the run due and how many it dropped from there,
			// one a minute on this cron.
			due, _ := time.Parse(time.RFC3339, field(line, "due"))
			runs, err := strconv.Atoi(field(line, "runs"))
			if err != nil {
				runs = 1
			}
			l.mu.Lock()
			if l.skipped == nil {
				l.skipped = map[string][]time.Time{}
			}
			for i := range runs {
				l.skipped[id] = append(l.skipped[id], due.Add(time.Duration(i)*time.Minute))
			}
			l.mu.Unlock()
		}
	}
}

func (l *logLines) skips(id string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.skipped[id]
}

// field reads key=value from a text log line.
func field(line, key string) string {
	_, rest, ok := strings.Cut(line, " "+key+"=")
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, " ")
	return strings.Trim(v, `"`)
}
