package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner/runnertest"
)

// refConnectors are the reference connectors, with a config check accepts,
// one it answers FAILED to (or "" for none), and the streams discover
// lists (nil for destinations).
var refConnectors = []struct {
	name, good, bad string
	streams         []string
}{
	{"source-faker", `{"count":10}`, "", []string{"users", "products", "purchases"}},
	{"destination-jsonl", `{"destination_path":"/local/out"}`, `{"destination_path":"/local/../etc"}`, nil},
	{"destination-null", `{}`, "", nil},
	{"connector-scripted", `{}`, `{"check_error":"nope"}`, []string{"items"}},
}

// TestReferenceConnectors runs spec, check and discover on each reference
// connector, as a local binary and (when an engine answers) as an image.
func TestReferenceConnectors(t *testing.T) {
	for _, runtime := range []string{"local", "docker"} {
		t.Run(runtime, func(t *testing.T) {
			image := func(name string) string {
				return runnertest.BuildBinary(t, name, "./connectors/"+name)
			}
			if runtime == "docker" {
				runnertest.RequireDocker(t)
				image = func(name string) string { return runnertest.BuildImage(t, name, "./connectors/"+name) }
			}
			for _, c := range refConnectors {
				t.Run(c.name, func(t *testing.T) {
					testReference(t, runtime, image(c.name), c.good, c.bad, c.streams)
				})
			}
		})
	}
}

func testReference(t *testing.T, runtime, image, good, bad string, streams []string) {
	localRoot := t.TempDir()
	ferry := func(args ...string) ferryResult {
		t.Helper()
		base := []string{"connector", "--runtime", runtime, "--cache-dir", t.TempDir(), "--local-root", localRoot}
		return runFerry(t, nil, append(base, args...)...)
	}
	r := ferry("spec", "--json", image)
	if r.code != 0 {
		t.Fatalf("spec: exit code %d; stderr: %s", r.code, r.stderr)
	}
	if m := decodeOne(t, r.stdout); m.Spec == nil || len(m.Spec.ConnectionSpecification) == 0 {
		t.Errorf("spec: got %s, want a SPEC with a connectionSpecification", r.stdout)
	}

	r = ferry("check", image, "--config", writeConfig(t, good))
	if r.code != 0 || r.stdout != "SUCCEEDED\n" {
		t.Errorf("check: got exit %d, stdout %q, stderr %q; want SUCCEEDED", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(good, "/local/out") {
		if fi, err := os.Stat(filepath.Join(localRoot, "out")); err != nil || !fi.IsDir() {
			t.Errorf("check did not reach the local root: %v", err)
		}
	}
	if bad != "" {
		r = ferry("check", image, "--config", writeConfig(t, bad))
		if r.code != exitFailed || !strings.HasPrefix(r.stdout, protocol.StatusFailed+": ") {
			t.Errorf("check of a bad config: got exit %d, stdout %q; want exit 1 and FAILED: ...", r.code, r.stdout)
		}
	}
	if streams == nil {
		return
	}
	r = ferry("discover", "--json", image, "--config", writeConfig(t, good))
	if r.code != 0 {
		t.Fatalf("discover: exit code %d; stderr: %s", r.code, r.stderr)
	}
	m := decodeOne(t, r.stdout)
	if m.Catalog == nil {
		t.Fatalf("discover: got %s, want a CATALOG", r.stdout)
	}
	var got []string
	for _, s := range m.Catalog.Streams {
		got = append(got, s.Name)
	}
	for _, want := range streams {
		if !strings.Contains(strings.Join(got, ","), want) {
			t.Errorf("discover: got streams %v, want %s among them", got, want)
		}
	}
}
