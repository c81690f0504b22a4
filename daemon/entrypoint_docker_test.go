package daemon

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/web"
)

// TestDockerRegistrationReadsEntrypoint registers definitions through the
// daemon's API on the Docker runtime and checks the entrypoint each keeps
// for runtimes that cannot inspect images: Ferry's reference image gives
// its AIRBYTE_ENTRYPOINT; an image without one gives its ENTRYPOINT; a
// changed image gives its own; one set through the API is kept across an
// image change, and reaches the connector runs the daemon builds.
func TestDockerRegistrationReadsEntrypoint(t *testing.T) {
	runnertest.RequireDocker(t)
	faker := runnertest.BuildImage(t, "source-faker", "./connectors/source-faker")
	bare := runnertest.BuildBareImage(t, "source-faker-bare", "./connectors/source-faker")
	cfg := dockerConfig(t)
	cfg.Web.Listen = "127.0.0.1:0"
	d := openDaemon(t, cfg, Options{})
	sweepAtCleanup(t, d)
	srv, err := d.OpenWeb(WebOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	token, err := os.ReadFile(filepath.Join(cfg.DataDir, web.TokenFileName))
	if err != nil {
		t.Fatal(err)
	}
	type definition struct {
		DefinitionID     string   `json:"definitionId"`
		SpecCached       bool     `json:"specCached"`
		SpecError        string   `json:"specError"`
		Entrypoint       []string `json:"entrypoint"`
		EntrypointSource string   `json:"entrypointSource"`
	}
	call := func(method, path string, body any, want int) definition {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL()+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out definition
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != want {
			t.Fatalf("%s %s: status %d (%v), want %d", method, path, resp.StatusCode, err, want)
		}
		return out
	}
	check := func(step string, got definition, want []string, source string) {
		t.Helper()
		if !slices.Equal(got.Entrypoint, want) || got.EntrypointSource != source || !got.SpecCached {
			t.Errorf("%s: entrypoint %q from %q (spec cached %v, %s), want %q from %s and the spec read",
				step, got.Entrypoint, got.EntrypointSource, got.SpecCached, got.SpecError, want, source)
		}
	}

	ref := call("POST", "/api/v1/definitions", map[string]any{"name": "faker", "kind": "source", "image": faker}, 201)
	check("reference image (AIRBYTE_ENTRYPOINT)", ref, []string{"/connector"}, "image")
	got := call("POST", "/api/v1/definitions", map[string]any{"name": "faker-bare", "kind": "source", "image": bare}, 201)
	check("image without AIRBYTE_ENTRYPOINT", got, []string{runnertest.BareEntrypoint}, "image")
	path := "/api/v1/definitions/" + got.DefinitionID
	check("image changed", call("PATCH", path, map[string]any{"image": faker}, 200), []string{"/connector"}, "image")
	call("PATCH", path, map[string]any{"entrypoint": []string{"/connector", "--verbose"}}, 200)
	check("set, then the image changed", call("PATCH", path, map[string]any{"image": bare}, 200),
		[]string{"/connector", "--verbose"}, "api")

	def, err := d.db.Definition(t.Context(), got.DefinitionID)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := d.commandSpec(def, runner.CommandSpec)
	if err != nil || !slices.Equal(spec.Entrypoint, []string{"/connector", "--verbose"}) {
		t.Errorf("command run: entrypoint %q (%v), want the definition's", spec.Entrypoint, err)
	}
}
