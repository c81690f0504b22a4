package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// client calls Ferry's API with the token.
type client struct{ base, token string }

var httpClient = &http.Client{Timeout: time.Minute}

func (c *client) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+"/api/v1"+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c *client) get(path string, out any) error    { return c.do("GET", path, nil, out) }
func (c *client) patch(path string, body any) error { return c.do("PATCH", path, body, nil) }

// setup registers the scripted connector as source and destination and
// makes the connections, each on a 1-minute cron.
func setup(api *client, cfg soakConfig) (conns []string, created map[string]time.Time, err error) {
	var src, dst struct {
		DefinitionID string `json:"definitionId"`
	}
	if err := api.do("POST", "/definitions", map[string]any{"name": "soak-source", "kind": "source", "image": cfg.image}, &src); err != nil {
		return nil, nil, err
	}
	if err := api.do("POST", "/definitions", map[string]any{"name": "soak-destination", "kind": "destination", "image": cfg.image}, &dst); err != nil {
		return nil, nil, err
	}
	created = map[string]time.Time{}
	for i := range cfg.connections {
		var s, d map[string]any
		if err := api.do("POST", "/sources", map[string]any{"name": fmt.Sprintf("soak-%d", i), "definitionId": src.DefinitionID,
			"configuration": map[string]any{"source": map[string]any{"records": 200, "state_every": 50}}}, &s); err != nil {
			return nil, nil, err
		}
		if err := api.do("POST", "/destinations", map[string]any{"name": fmt.Sprintf("soak-%d", i), "definitionId": dst.DefinitionID,
			"configuration": map[string]any{"destination": map[string]any{"ack": "all"}}}, &d); err != nil {
			return nil, nil, err
		}
		var c struct {
			ConnectionID string `json:"connectionId"`
		}
		if err := api.do("POST", "/connections", map[string]any{"name": fmt.Sprintf("soak-%d", i), "sourceId": s["sourceId"],
			"destinationId": d["destinationId"], "schedule": map[string]any{"scheduleType": "cron", "cronExpression": "* * * * *"}}, &c); err != nil {
			return nil, nil, err
		}
		conns = append(conns, c.ConnectionID)
		created[c.ConnectionID] = time.Now()
	}
	return conns, created, nil
}

// readLoop reads the API without pause, as a dashboard would: the job
// list, a connection, its jobs.
func readLoop(ctx context.Context, api *client, conns []string, n int, lat *latencies) {
	for i := n; ctx.Err() == nil; i++ {
		c := conns[i%len(conns)]
		for _, p := range []string{"/jobs?limit=20", "/connections/" + c, "/jobs?connectionId=" + c, "/connections?limit=50"} {
			t0 := time.Now()
			if err := api.get(p, nil); err != nil && ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, "soak: reader:", err)
			}
			lat.add(time.Since(t0))
		}
	}
}

// latencies collects request durations.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) quantiles() (p50, p99 time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0, 0
	}
	slices.Sort(l.d)
	return l.d[len(l.d)/2], l.d[len(l.d)*99/100]
}

// peak samples a process's resident set size every second.
type peak struct {
	mu sync.Mutex
	b  int64
}

func (p *peak) watch(ctx context.Context, pid int) {
	for ctx.Err() == nil {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
					kb, _ := strconv.ParseInt(f[1], 10, 64)
					p.mu.Lock()
					p.b = max(p.b, kb<<10)
					p.mu.Unlock()
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (p *peak) max() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.b
}

// jobView is what the account reads of a job.
type jobView struct {
	JobID     int64  `json:"jobId"`
	Status    string `json:"status"`
	Trigger   string `json:"trigger"`
	StartTime string `json:"startTime"`
	Attempts  []struct {
		CreatedAt string  `json:"createdAt"`
		EndedAt   *string `json:"endedAt"`
	} `json:"attempts"`
}

// jobsOf lists a connection's jobs, every page.
func jobsOf(api *client, conn string) ([]jobView, error) {
	var all []jobView
	for off := 0; ; off += 100 {
		var page struct {
			Data []jobView `json:"data"`
		}
		if err := api.get(fmt.Sprintf("/jobs?connectionId=%s&limit=100&offset=%d", conn, off), &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if len(page.Data) < 100 {
			return all, nil
		}
	}
}

func final(status string) bool {
	switch status {
	case "succeeded", "failed", "cancelled":
		return true
	}
	return false
}

// drain waits until no job is pending, running or waiting for a retry.
func drain(api *client, conns []string, limit time.Duration) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(5 * time.Second) {
		active := 0
		for _, c := range conns {
			js, err := jobsOf(api, c)
			if err != nil {
				active++
				continue
			}
			for _, j := range js {
				if !final(j.Status) {
					active++
				}
			}
		}
		if active == 0 {
			return true
		}
	}
	return false
}

// result is the soak's account.
type result struct {
	jobs, lost, overlaps, leaked int
	ticks, scheduled, skipped    int
	details                      []string
}

// account counts jobs, losses and overlaps. A tick is a minute boundary
// after the connection was made, up to 5 s after the load ended: the
// cron ran 70 s more, so each of those ticks was settled, by a job (made
// within the scheduler's MissedAfter of a minute, so in the minute of its
// tick) or by a logged skip (which names the run due and how many it
// dropped). A tick with neither is lost.
func account(api *client, conns []string, created map[string]time.Time, srv *served, stopAt time.Time) (*result, error) {
	r := &result{}
	settled := stopAt.Add(5 * time.Second)
	for _, c := range conns {
		js, err := jobsOf(api, c)
		if err != nil {
			return nil, err
		}
		r.jobs += len(js)
		covered := map[int64]bool{} // minutes since the epoch: time.Time keys would compare locations too
		var spans [][2]time.Time
		for _, j := range js {
			if !final(j.Status) {
				r.lost++
				r.details = append(r.details, fmt.Sprintf("connection %s: job %d still %s after the drain", c, j.JobID, j.Status))
			}
			if j.Trigger == "schedule" {
				r.scheduled++
				at, _ := time.Parse(time.RFC3339Nano, j.StartTime)
				covered[at.Unix()/60] = true
			}
			for _, a := range j.Attempts {
				s, _ := time.Parse(time.RFC3339Nano, a.CreatedAt)
				e := time.Now()
				if a.EndedAt != nil {
					e, _ = time.Parse(time.RFC3339Nano, *a.EndedAt)
				}
				spans = append(spans, [2]time.Time{s, e})
			}
		}
		for _, t := range srv.log.skips(c) {
			r.skipped++
			covered[t.Unix()/60] = true
		}
		var lost []string
		for t := created[c].Truncate(time.Minute).Add(time.Minute); !t.After(settled); t = t.Add(time.Minute) {
			r.ticks++
			if !covered[t.Unix()/60] {
				lost = append(lost, t.Format("15:04"))
			}
		}
		if len(lost) > 0 {
			r.lost += len(lost)
			r.details = append(r.details, fmt.Sprintf("connection %s: the ticks of %s made no job and no logged skip", c, strings.Join(lost, ", ")))
		}
		slices.SortFunc(spans, func(a, b [2]time.Time) int { return a[0].Compare(b[0]) })
		for i := 1; i < len(spans); i++ {
			if spans[i][0].Before(spans[i-1][1]) {
				r.overlaps++
				r.details = append(r.details, fmt.Sprintf("connection %s: an attempt started at %s before the one before ended at %s", c, spans[i][0], spans[i-1][1]))
			}
		}
	}
	return r, nil
}

// leakedContainers counts the containers and volumes the instance left
// on the engine after ferry serve stopped.
func leakedContainers(instance string) int {
	if instance == "" {
		return 0
	}
	n := 0
	for _, args := range [][]string{{"ps", "-aq"}, {"volume", "ls", "-q"}} {
		out, err := exec.Command("docker", append(args, "--filter", "label=io.ferry.instance="+instance)...).Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "soak: docker:", err)
			continue
		}
		n += len(strings.Fields(string(out)))
	}
	return n
}
