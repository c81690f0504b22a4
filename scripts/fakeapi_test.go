package scripts

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// fakeAPI serves canned answers for the paths the scripts call, so edge
// cases that a live ferry serve reaches only by racing can be played back.
func fakeAPI(t *testing.T, routes map[string]func(w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer fake-token-0123456789" {
			w.WriteHeader(401)
			w.Write([]byte(`{"status":401,"message":"missing or wrong bearer token"}`))
			return
		}
		h, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			w.WriteHeader(404)
			w.Write([]byte(`{"status":404,"message":"no route ` + r.URL.Path + `"}`))
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func answer(status int, body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// runScript runs a script against url; the limit only guards against a
// hang.
func runScript(t *testing.T, url, script string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the scripts need %s, which is not installed", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "FERRY_URL="+url, "FERRY_TOKEN=fake-token-0123456789", "FERRY_POLL=0.05")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not end within %s\nstdout: %s\nstderr: %s", script, args, hangGuard, out.String(), errOut.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

// TestSyncScriptJobWithoutAttempts verifies that sync.sh summarises a job
// that ended before any attempt ran (cancelled while pending: the API
// leaves attempts out) and exits 1, rather than failing inside jq.
func TestSyncScriptJobWithoutAttempts(t *testing.T) {
	url := fakeAPI(t, map[string]func(http.ResponseWriter, *http.Request){
		"GET /api/v1/connections/c1": answer(200, `{"connectionId":"c1","name":"demo"}`),
		"POST /api/v1/jobs":          answer(201, `{"jobId":7,"status":"pending","jobType":"sync","connectionId":"c1","attemptCount":0,"rowsSynced":0,"bytesSynced":0}`),
		"GET /api/v1/jobs/7": answer(200, `{"jobId":7,"status":"cancelled","jobType":"sync","connectionId":"c1","attemptCount":0,
			"rowsSynced":0,"bytesSynced":0,"duration":"PT1S","cancelRequested":true}`),
	})
	out, errOut, code := runScript(t, url, "sync.sh", "c1")
	if code != 1 || !strings.Contains(out, "job 7 cancelled") || strings.Contains(errOut, "jq:") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 1, the summary and no jq error", code, out, errOut)
	}
}

// TestLogsScriptRefusedStream verifies that logs.sh reports an attempt
// log the API refuses (here an attempt that does not exist while the job
// runs) and exits 2, instead of skipping to ever higher attempt numbers
// until the job ends and then exiting 0.
func TestLogsScriptRefusedStream(t *testing.T) {
	url := fakeAPI(t, map[string]func(http.ResponseWriter, *http.Request){
		"GET /api/v1/jobs/7":                 answer(200, `{"jobId":7,"status":"running","jobType":"sync","connectionId":"c1","attemptCount":1}`),
		"GET /api/v1/jobs/7/attempts/5/logs": answer(404, `{"status":404,"error":"not_found","message":"job 7 has no attempt 5"}`),
	})
	_, errOut, code := runScript(t, url, "logs.sh", "7", "5")
	if code != 2 || !strings.Contains(errOut, "job 7 has no attempt 5") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and the API's message", code, errOut)
	}
	for _, args := range [][]string{{"seven"}, {"7", "0"}, {"7 8"}} {
		_, errOut, code := runScript(t, url, "logs.sh", args...)
		if code != 2 || !strings.Contains(errOut, "usage") {
			t.Errorf("logs.sh %q: exit %d, stderr %q; want exit 2 and the usage", args, code, errOut)
		}
	}
}

// TestSyncScriptPartialSuccess verifies that sync.sh exits 4, as ferry sync
// does, for a job that succeeded with warnings (G11), and says so.
func TestSyncScriptPartialSuccess(t *testing.T) {
	url := fakeAPI(t, map[string]func(http.ResponseWriter, *http.Request){
		"GET /api/v1/connections/c1": answer(200, `{"connectionId":"c1","name":"demo"}`),
		"POST /api/v1/jobs":          answer(201, `{"jobId":7,"status":"pending","jobType":"sync","connectionId":"c1","attemptCount":0,"rowsSynced":0,"bytesSynced":0}`),
		"GET /api/v1/jobs/7": answer(200, `{"jobId":7,"status":"succeeded","jobType":"sync","connectionId":"c1","attemptCount":1,
			"rowsSynced":0,"bytesSynced":0,"duration":"PT1S","partialSuccess":true,
			"warnings":["the destination acknowledged no state"],"attempts":[]}`),
	})
	out, errOut, code := runScript(t, url, "sync.sh", "c1")
	if code != 4 || !strings.Contains(out, "job 7 succeeded with warnings (partial success)") ||
		!strings.Contains(out, "warning: the destination acknowledged no state") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 4 and the warning", code, out, errOut)
	}
}
