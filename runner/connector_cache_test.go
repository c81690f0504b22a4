package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferrysync/ferry/runner"
)

// inspectingFake is a Fake that can identify images, like the real
// runtimes.
type inspectingFake struct {
	*runner.FakeRuntime
	ids map[string]string
}

func (f inspectingFake) InspectImage(ctx context.Context, image string) (runner.ImageInfo, error) {
	return runner.ImageInfo{ID: f.ids[image]}, nil
}

// TestCachedSpec verifies that a spec is asked for once per image ID, and
// again when the image changes or the cache entry is corrupt.
func TestCachedSpec(t *testing.T) {
	rt := inspectingFake{
		FakeRuntime: &runner.FakeRuntime{RunFunc: runner.ScriptRun(cmdSpecLine+"\n", "", runner.ExitStatus{})},
		ids:         map[string]string{"ferry/x:dev": "sha256:aaa"},
	}
	cache := runner.SpecCache{Dir: t.TempDir()}
	base := runner.ConnectorSpec{Image: "ferry/x:dev"}
	spec := func(wantCached bool) {
		t.Helper()
		res, cached, err := runner.CachedSpec(t.Context(), rt, base, cache)
		if err != nil {
			t.Fatal(err)
		}
		if cached != wantCached || res.ImageID != rt.ids["ferry/x:dev"] {
			t.Errorf("got cached %v for %s, want cached %v for %s", cached, res.ImageID, wantCached, rt.ids["ferry/x:dev"])
		}
		if got, want := string(res.Spec.ConnectionSpecification), `{"type":"object"}`; got != want {
			t.Errorf("spec: got %s, want %s", got, want)
		}
	}
	spec(false)
	spec(true)
	rt.ids["ferry/x:dev"] = "sha256:bbb" // rebuilt
	spec(false)
	if err := os.WriteFile(filepath.Join(cache.Dir, "sha256-bbb.json"), []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec(false)
	spec(true)
	if got, want := len(rt.Specs()), 3; got != want {
		t.Errorf("connector runs: got %d, want %d", got, want)
	}
}
