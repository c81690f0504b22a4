package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

// login posts the token to the login form and returns the session cookie
// and its CSRF token.
func (e *testEnv) login(t *testing.T) (*http.Cookie, string) {
	t.Helper()
	resp, _ := e.page(t, "POST", "/login", nil, url.Values{"token": {testToken}, "next": {"/jobs"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/jobs" {
		t.Fatalf("login: got %d to %q, want 303 to /jobs", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			sess, ok := e.srv.sessions.verify(c.Value)
			if !ok {
				t.Fatalf("login set a cookie the server refuses: %q", c.Value)
			}
			return c, sess.csrf
		}
	}
	t.Fatalf("login set no %s cookie", sessionCookie)
	return nil, ""
}

// page sends a browser-like request (Accept: text/html) with an optional
// cookie and form, without following redirects, and records the body for
// the secrets check.
func (e *testEnv) page(t *testing.T, method, path string, cookie *http.Cookie, form url.Values, header ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.bodies = append(e.bodies, string(b))
	e.mu.Unlock()
	return resp, string(b)
}

// secretValues are the fixture's plaintext secrets and the token: none
// may appear in any page.
var secretValues = []string{srcPassword, srcAPIKey, dstToken, webhookSecretPT, testToken}

func checkNoSecrets(t *testing.T, where, html string) {
	t.Helper()
	for _, s := range secretValues {
		if strings.Contains(html, s) {
			t.Errorf("%s shows the secret %q", where, s)
		}
	}
}

// simJobs is the daemon's job controller at the web seam, with a worker
// that plays each job out on the real store: it claims the job, picks a
// socket data channel and writes Lines to the attempt log. Then it holds
// the attempt running until the test calls release, so a test sees the
// running job for as long as it needs instead of racing a timer, and
// finishes it succeeded with stats and a committed stream state (or
// cancelled, when a cancel was requested). Subscribe reports status
// changes by polling the store, as the daemon's events would.
type simJobs struct {
	db    *store.DB
	dir   string
	Lines []string

	// releases lets one held attempt finish per value.
	releases chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	errs     []error
}

var _ Jobs = (*simJobs)(nil)

// simHangGuard bounds every wait of the simulated worker and of release:
// they wait for events that will come, so only a hang reaches it.
const simHangGuard = 2 * time.Minute

func newSimJobs(t *testing.T, db *store.DB) *simJobs {
	s := &simJobs{db: db, dir: t.TempDir(), releases: make(chan struct{})}
	t.Cleanup(func() {
		s.wg.Wait()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, err := range s.errs {
			t.Errorf("simulated worker: %v", err)
		}
	})
	return s
}

// release lets the held attempt finish; it waits for the worker to take
// it, so the attempt is finishing when release returns.
func (s *simJobs) release(t *testing.T) {
	t.Helper()
	select {
	case s.releases <- struct{}{}:
	case <-time.After(simHangGuard):
		t.Fatal("no simulated attempt was waiting to be released")
	}
}

func (s *simJobs) Trigger(ctx context.Context, connID string, typ store.JobType) (*store.Job, error) {
	j, err := s.db.CreateJob(ctx, connID, typ, store.TriggerManual)
	if err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.run(); err != nil {
			s.mu.Lock()
			s.errs = append(s.errs, err)
			s.mu.Unlock()
		}
	}()
	return j, nil
}

func (s *simJobs) run() error {
	ctx := context.Background()
	c, err := s.db.ClaimJob(ctx, store.Owner{InstanceID: "sim", PID: 1, BootID: "b"})
	if err != nil || c == nil {
		return fmt.Errorf("claim: %v, %v", c, err)
	}
	logPath := store.LogPath(s.dir, c.Job.ID, c.Attempt.Number)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return err
	}
	if err := s.db.SetAttemptRun(ctx, c.Attempt.ID, store.AttemptRun{Mode: protocol.ModeSocket,
		Format: protocol.FormatProtobuf, SocketCount: 2, LogPath: logPath}); err != nil {
		return err
	}
	for _, line := range s.Lines {
		ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
		if err := appendLine(logPath, fmt.Sprintf("%s INFO source: %s\n", ts, line)); err != nil {
			return err
		}
	}
	select {
	case <-s.releases:
	case <-time.After(simHangGuard):
		return fmt.Errorf("job %d: the test never released its attempt", c.Job.ID)
	}
	res := store.AttemptResult{AttemptID: c.Attempt.ID, Status: store.AttemptSucceeded, JobStatus: store.JobSucceeded}
	if j, err := s.db.Job(ctx, c.Job.ID); err != nil {
		return err
	} else if j.CancelRequested {
		res.Status, res.JobStatus = store.AttemptCancelled, store.JobCancelled
	}
	users := protocol.StreamDescriptor{Name: "users"}
	n := int64(len(s.Lines))
	res.Stats = &store.Stats{RecordsEmitted: n * 100, BytesEmitted: n * 20000, RecordsCommitted: n * 100,
		BytesCommitted: n * 20000, Streams: []store.StreamStats{{Stream: users, RecordsEmitted: n * 100,
			BytesEmitted: n * 20000, RecordsCommitted: n * 100, BytesCommitted: n * 20000, Status: "COMPLETE"}}}
	res.FinalStates = []*protocol.State{{Type: protocol.StateStream, Stream: &protocol.StreamState{
		StreamDescriptor: users, StreamState: []byte(fmt.Sprintf(`{"updated_at":"2025-01-0%dT00:00:00Z"}`, n%9+1))}}}
	_, err = s.db.FinishAttempt(ctx, res)
	return err
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *simJobs) Cancel(ctx context.Context, jobID int64) (*store.Job, error) {
	return s.db.CancelJob(ctx, jobID)
}

// Subscribe polls the job and reports it whenever its status, attempt
// count or counts change, until it is terminal.
func (s *simJobs) Subscribe(ctx context.Context, jobID int64, onStatus func(*store.Job), onLog func(int, string)) error {
	var last string
	for {
		j, err := s.db.Job(ctx, jobID)
		if err != nil {
			return err
		}
		if key := fmt.Sprint(j.Status, j.AttemptCount, j.RecordsSynced); key != last {
			last = key
			onStatus(j)
		}
		if j.Status.Terminal() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
