package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferrysync/ferry/protocol"
)

// SpecCache keeps connector specs on disk, one file per image ID. A spec
// changes only with the image, and asking the connector costs a container
// run, so `ferry connector spec` and definition registration can reuse it.
// Keys are content IDs (Docker image IDs, binary hashes), never tags, so a
// rebuilt image misses the cache instead of returning a stale spec.
type SpecCache struct {
	Dir string
}

// DefaultSpecCacheDir returns <user cache dir>/ferry/specs.
func DefaultSpecCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "ferry", "specs"), nil
}

func (c SpecCache) path(imageID string) string {
	return filepath.Join(c.Dir, strings.NewReplacer(":", "-", "/", "-").Replace(imageID)+".json")
}

// Load returns the cached spec of an image, or ok false. An unreadable or
// corrupt entry is a miss: the spec is cheap to ask for again.
func (c SpecCache) Load(imageID string) (spec *protocol.Spec, ok bool) {
	b, err := os.ReadFile(c.path(imageID))
	if err != nil {
		return nil, false
	}
	if err := json.Unmarshal(b, &spec); err != nil || spec == nil {
		return nil, false
	}
	return spec, true
}

// Store saves spec for an image. It writes a temp file and renames it, so
// concurrent readers never see half a spec.
func (c SpecCache) Store(imageID string, spec *protocol.Spec) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(c.Dir, ".spec-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), c.path(imageID))
}

// CachedSpec returns the connector's spec from cache when rt can identify
// the image, and otherwise runs spec and stores the answer. cached reports
// a hit, in which case the result's Output is empty. A runtime that cannot
// identify images (no ImageInspector) always runs the connector.
func CachedSpec(ctx context.Context, rt Runtime, base ConnectorSpec, cache SpecCache) (res *SpecResult, cached bool, err error) {
	insp, ok := rt.(ImageInspector)
	if !ok {
		res, err := Spec(ctx, rt, base)
		return res, false, err
	}
	info, err := insp.InspectImage(ctx, base.Image)
	if err != nil {
		return nil, false, fmt.Errorf("%s spec: %w", base.Image, err)
	}
	if spec, ok := cache.Load(info.ID); ok {
		return &SpecResult{Spec: spec, ImageID: info.ID}, true, nil
	}
	if res, err = Spec(ctx, rt, base); err != nil {
		return nil, false, err
	}
	res.ImageID = info.ID
	// A cache that cannot be written only costs the next caller a run.
	_ = cache.Store(info.ID, res.Spec)
	return res, false, nil
}
