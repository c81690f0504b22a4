package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/ferrysync/ferry/runner/runnertest"
)

// served is a real `ferry serve` process on a temp data dir.
type served struct {
	url, token, dir string
	stderr          *syncBuffer
}

// startServe builds bin/ferry and runs `ferry serve` on the Docker
// runtime at a free loopback port, until the test ends.
func startServe(t *testing.T) *served {
	t.Helper()
	bin := runnertest.BuildBinary(t, "ferry", "./cmd/ferry")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a small window in which another process could take the port; the start check below would say so
	s := &served{url: "http://" + addr, dir: t.TempDir(), stderr: &syncBuffer{}}
	cmd := exec.Command(bin, "serve", "--data-dir", s.dir, "--listen", addr, "--runtime", "docker", "--no-demo", "--workers", "1")
	cmd.Stdout, cmd.Stderr = s.stderr, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("ferry serve output:\n%s", s.stderr.String())
		}
	})
	// Wait for /healthz; the deadline only guards against a hang.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("ferry serve exited: %v\n%s", err, s.stderr.String())
		default:
		}
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("ferry serve never answered /healthz\n%s", s.stderr.String())
		}
	}
	tok, err := os.ReadFile(filepath.Join(s.dir, "token"))
	if err != nil {
		t.Fatal(err)
	}
	s.token = strings.TrimSpace(string(tok))
	return s
}

// api calls the REST API and decodes the JSON answer into out.
func (s *served) api(t *testing.T, method, path string, body, out any) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+"/api/v1"+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return b
}

// attemptLogs returns every file under the data dir's logs.
func (s *served) attemptLogs(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(filepath.Join(s.dir, "logs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		b.Write(raw)
		return err
	})
	if err != nil {
		t.Fatalf("read the attempt logs: %v", err)
	}
	return b.String()
}

// encodings returns a secret as it could appear in any text Ferry
// writes: raw, HTML-, JSON- and \u-escaped, URL-encoded and base64.
func encodings(secret string) map[string]string {
	j, _ := json.Marshal(secret)
	var u strings.Builder
	for _, r := range secret {
		fmt.Fprintf(&u, `\u%04x`, r)
	}
	return map[string]string{
		"raw": secret, "html": html.EscapeString(secret), "json": strings.Trim(string(j), `"`), `\u`: u.String(),
		"url-query": url.QueryEscape(secret), "url-path": url.PathEscape(secret),
		"base64": base64.StdEncoding.EncodeToString([]byte(secret)), "base64url": base64.RawURLEncoding.EncodeToString([]byte(secret)),
	}
}

// sentinelCheck searches texts for planted secrets in every encoding.
type sentinelCheck struct {
	secrets []string
	seen    int // texts searched
}

func (c *sentinelCheck) search(t *testing.T, where, text string) {
	t.Helper()
	c.seen++
	for _, s := range c.secrets {
		for enc, v := range encodings(s) {
			if strings.Contains(text, v) {
				t.Errorf("%s holds the secret %q (%s encoding)", where, s, enc)
			}
		}
	}
}

// formValuesJS collects the value of every form control on the page.
const formValuesJS = `Array.from(document.querySelectorAll("input, textarea, select")).map(e => e.name + "=" + e.value).join("\n")`

// pageShots checks the current page for secrets (markup and every form
// value) and takes its screenshots at desktop and phone widths.
type pageShots struct {
	b     *browser
	dir   string
	check *sentinelCheck
	files []string
}

func (p *pageShots) shot(t *testing.T, name string) string {
	t.Helper()
	page := p.b.html(t)
	p.check.search(t, name+" (markup)", page)
	var values string
	p.b.run(t, "read the form values of "+name, chromedp.Evaluate(formValuesJS, &values))
	p.check.search(t, name+" (form values)", values)
	for _, width := range []int64{1280, 390} {
		var png []byte
		p.b.run(t, fmt.Sprintf("screenshot %s at %d", name, width),
			emulation.SetDeviceMetricsOverride(width, 900, 1, width < 600),
			chromedp.FullScreenshot(&png, 100)) // 100 is PNG
		file := fmt.Sprintf("%02d-%s-%d.png", len(p.files)/2+1, name, width)
		if err := os.WriteFile(filepath.Join(p.dir, file), png, 0o644); err != nil {
			t.Fatal(err)
		}
		p.files = append(p.files, file)
	}
	p.b.run(t, "reset the viewport", emulation.ClearDeviceMetricsOverride())
	return page
}

// waitJob polls the API until the job ends; the deadline guards a hang.
func (s *served) waitJob(t *testing.T, id int64) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for {
		var j struct {
			Status string `json:"status"`
		}
		s.api(t, "GET", fmt.Sprintf("/jobs/%d", id), nil, &j)
		switch j.Status {
		case "succeeded", "failed", "cancelled", "incomplete":
			return j.Status
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %d never ended; last status %s", id, j.Status)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
