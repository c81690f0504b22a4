// Package scripts holds Ferry's shell scripts; this test runs the API
// scripts (sync.sh, jobs.sh, logs.sh) against a live `ferry serve` on the
// local runtime.
package scripts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferrysync/ferry/runner/runnertest"
)

// server is a `ferry serve` subprocess on a temp data dir.
type server struct {
	url, dataDir, token string
	log                 *lockedBuffer
}

// lockedBuffer collects ferry serve's log and signals each write, so a
// test can wait for a line instead of polling for it.
type lockedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // capacity 1: "something was written"
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{written: make(chan struct{}, 1)} }

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case l.written <- struct{}{}:
	default:
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hangGuard bounds waits for things that will happen (a start, a sync, a
// stop) on a machine that may be loaded: only a hang reaches it.
const hangGuard = 2 * time.Minute

// listeningRE finds the address in the API's "api listening" log line.
var listeningRE = regexp.MustCompile(`msg="api listening".* addr=(\S+)`)

// startServe builds ferry and the demo's connectors, and runs `ferry
// serve` until the test ends (SIGTERM, then a graceful stop). It listens
// on a port the kernel picks, read back from its log, so no other process
// can take the port between a probe and the listen.
func startServe(t *testing.T) *server {
	t.Helper()
	ferry := runnertest.BuildBinary(t, "ferry", "./cmd/ferry")
	connectors := filepath.Dir(runnertest.BuildBinary(t, "source-faker", "./connectors/source-faker"))
	runnertest.BuildBinary(t, "destination-jsonl", "./connectors/destination-jsonl")
	s := &server{dataDir: t.TempDir(), log: newLockedBuffer()}
	cmd := exec.Command(ferry, "serve", "--data-dir", s.dataDir, "--runtime", "local",
		"--connectors-dir", connectors, "--listen", "127.0.0.1:0")
	// The text format and the info level, whatever the environment says:
	// the "api listening" line is read below.
	cmd.Env = append(os.Environ(), "FERRY_LOG_FORMAT=text", "FERRY_LOG_LEVEL=info")
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(hangGuard):
			cmd.Process.Kill()
			<-done
			t.Errorf("ferry serve did not stop within %s of SIGTERM", hangGuard)
		}
		if t.Failed() {
			t.Logf("ferry serve log:\n%s", s.log.String())
		}
	})
	guard := time.After(hangGuard)
	for {
		if m := listeningRE.FindStringSubmatch(s.log.String()); m != nil {
			s.url = "http://" + m[1]
			break
		}
		select {
		case <-s.log.written:
		case err := <-done:
			t.Fatalf("ferry serve exited: %v\n%s", err, s.log.String())
		case <-guard:
			t.Fatalf("ferry serve did not listen within %s\n%s", hangGuard, s.log.String())
		}
	}
	b, err := os.ReadFile(filepath.Join(s.dataDir, "token"))
	if err != nil {
		t.Fatal(err)
	}
	s.token = strings.TrimSpace(string(b))
	return s
}

// api calls the API with the token and decodes the JSON answer.
func (s *server) api(t *testing.T, method, path, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: got %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
}

// run runs a script with the server's URL and data dir, and returns its
// output and exit code.
func (s *server) run(t *testing.T, env []string, script string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "FERRY_URL="+s.url, "FERRY_DATA_DIR="+s.dataDir, "FERRY_POLL=0.2", "FERRY_TOKEN=")
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", script, err)
	}
	return out.String(), errOut.String(), 0
}

// TestScriptsAgainstServe runs the scripts against a live ferry serve: the
// demo connection syncs through sync.sh by name and by ID, jobs.sh lists
// the jobs, logs.sh prints a log, a failing sync exits 1 with its reason,
// and usage and auth errors exit 2.
func TestScriptsAgainstServe(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the scripts need %s, which is not installed", tool)
		}
	}
	s := startServe(t)

	// The first start's demo sync runs at once; wait for it to end, or
	// sync.sh would meet its active job.
	var jobs struct {
		Data []struct {
			JobID  int64  `json:"jobId"`
			Status string `json:"status"`
		} `json:"data"`
	}
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(200 * time.Millisecond) {
		s.api(t, "GET", "/api/v1/jobs", "", &jobs)
		if len(jobs.Data) == 1 && jobs.Data[0].Status == "succeeded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo's first sync did not succeed within %s: %+v", hangGuard, jobs.Data)
		}
	}

	out, errOut, code := s.run(t, nil, "sync.sh", "Demo: faker → JSONL")
	if code != 0 || !strings.Contains(out, "job 2 succeeded") || !strings.Contains(out, "stream users:") {
		t.Errorf("sync.sh by name: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 0 and a summary of job 2", code, out, errOut)
	}
	var conns struct {
		Data []struct {
			ConnectionID string `json:"connectionId"`
			SourceID     string `json:"sourceId"`
		} `json:"data"`
	}
	s.api(t, "GET", "/api/v1/connections", "", &conns)
	demo := conns.Data[0]
	out, errOut, code = s.run(t, nil, "sync.sh", "-f", demo.ConnectionID)
	if code != 0 || !strings.Contains(out, "sync succeeded") || !strings.Contains(out, "job 3 succeeded") {
		t.Errorf("sync.sh -f by ID: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 0, the log and the summary", code, out, errOut)
	}

	out, errOut, code = s.run(t, nil, "jobs.sh")
	if code != 0 || strings.Count(out, "succeeded") != 3 || !strings.HasPrefix(out, "JOB") {
		t.Errorf("jobs.sh: exit %d, stdout:\n%s\nstderr:\n%s\nwant three succeeded jobs", code, out, errOut)
	}
	out, _, code = s.run(t, nil, "jobs.sh", "-s", "failed")
	if code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("jobs.sh -s failed: exit %d, stdout:\n%s\nwant only the header", code, out)
	}
	out, errOut, code = s.run(t, nil, "logs.sh", "1")
	if code != 0 || !strings.Contains(out, "starting sync") || !strings.Contains(errOut, "job 1 succeeded") {
		t.Errorf("logs.sh 1: exit %d, stdout:\n%s\nstderr:\n%s\nwant the log and the job's end", code, out, errOut)
	}

	// A destination path outside /local is a config error: the job fails
	// without retries.
	var def struct {
		Data []struct {
			DefinitionID string `json:"definitionId"`
		} `json:"data"`
	}
	s.api(t, "GET", "/api/v1/definitions?name=destination-jsonl", "", &def)
	var dst struct {
		DestinationID string `json:"destinationId"`
	}
	s.api(t, "POST", "/api/v1/destinations", fmt.Sprintf(`{"name":"escape","definitionId":%q,
		"configuration":{"destination_path":"/local/../../escape"}}`, def.Data[0].DefinitionID), &dst)
	var conn struct {
		ConnectionID string `json:"connectionId"`
	}
	s.api(t, "POST", "/api/v1/connections", fmt.Sprintf(`{"sourceId":%q,"destinationId":%q}`, demo.SourceID, dst.DestinationID), &conn)
	out, errOut, code = s.run(t, nil, "sync.sh", conn.ConnectionID)
	if code != 1 || !strings.Contains(out, "failed") || !strings.Contains(out, "config_error") {
		t.Errorf("sync.sh of a failing connection: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 1 and the config error", code, out, errOut)
	}

	for _, c := range []struct {
		name, want string
		env        []string
		args       []string
	}{
		{"no connection", "usage", nil, []string{"sync.sh"}},
		{"unknown connection", "no connection", nil, []string{"sync.sh", "nope"}},
		{"wrong token", "HTTP 401", []string{"FERRY_TOKEN=wrong-token-123456"}, []string{"jobs.sh"}},
		{"no token", "no API token", []string{"FERRY_DATA_DIR=" + t.TempDir()}, []string{"logs.sh", "1"}},
	} {
		_, errOut, code := s.run(t, c.env, c.args[0], c.args[1:]...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", c.name, code, errOut, c.want)
		}
	}
}

// TestAirbyteClientsScript runs airbyte-clients.sh against a live ferry
// serve: what Airbyte's Terraform provider and SDK do on the public API,
// and what Dagster's integration does on the configuration API.
func TestAirbyteClientsScript(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the script needs %s, which is not installed", tool)
		}
	}
	s := startServe(t)
	out, errOut, code := s.run(t, nil, "airbyte-clients.sh")
	if code != 0 || !strings.Contains(out, "airbyte-clients.sh: ok") {
		t.Errorf("airbyte-clients.sh: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
