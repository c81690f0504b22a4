package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// proberRuntime is a runtime with the Docker runtime's probe and image
// inspection, answering as scripted.
type proberRuntime struct {
	FakeRuntime
	shared       bool
	relayMissing bool
	// probeErr and inspectErr are the engine failing.
	probeErr, inspectErr error
}

func (p *proberRuntime) SharesDirs(context.Context, string) (bool, string, error) {
	if p.probeErr != nil {
		return false, "", p.probeErr
	}
	return p.shared, "the engine has no directory /tmp/x", nil
}

func (p *proberRuntime) InspectImage(_ context.Context, image string) (ImageInfo, error) {
	switch {
	case p.inspectErr != nil:
		return ImageInfo{}, p.inspectErr
	case p.relayMissing:
		return ImageInfo{}, &ImageNotFoundError{Image: image}
	}
	return ImageInfo{ID: "sha256:relay"}, nil
}

// TestResolveBridge: the probe decides auto; a forced choice that cannot
// work is an error; auto with neither way says so (the caller gives
// stdio); a runtime without the probe bridges directly.
func TestResolveBridge(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		rt                   Runtime
		want                 string
		bridge, unavail, err string
	}{
		{"local runtime", &FakeRuntime{}, "", BridgeDirect, "", ""},
		{"local runtime, relay forced", &FakeRuntime{}, BridgeRelay, "", "", "Docker runtime only"},
		{"shared", &proberRuntime{shared: true}, BridgeAuto, BridgeDirect, "", ""},
		{"not shared", &proberRuntime{}, BridgeAuto, BridgeRelay, "", ""},
		{"not shared, no relay image", &proberRuntime{relayMissing: true}, "", "", "the relay's image is missing", ""},
		{"direct forced, not shared", &proberRuntime{}, BridgeDirect, "", "", "the direct bridge cannot work here"},
		{"relay forced, shared", &proberRuntime{shared: true}, BridgeRelay, BridgeRelay, "", ""},
		{"relay forced, no image", &proberRuntime{shared: true, relayMissing: true}, BridgeRelay, "", "", "the relay's image is missing"},
		{"bad setting", &proberRuntime{}, "pigeon", "", "", `bridge "pigeon"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := ResolveBridge(context.Background(), tc.rt, BridgeRequest{Want: tc.want, SourceImage: "src"})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %+v, %v; want an error with %q", plan, err, tc.err)
				}
				return
			}
			if err != nil || plan.Bridge != tc.bridge || !strings.Contains(plan.Unavailable, tc.unavail) || (tc.unavail == "") != (plan.Unavailable == "") {
				t.Fatalf("got %+v, %v; want bridge %q, unavailable %q", plan, err, tc.bridge, tc.unavail)
			}
		})
	}
}

// TestResolveBridgeEngineErrors: the engine failing during the probe or
// the relay image's inspection is a BridgeEngineError (retryable), with
// auto too (never a fallback to stdio); a missing source image is not.
func TestResolveBridgeEngineErrors(t *testing.T) {
	down := errors.New("Cannot connect to the Docker daemon")
	for _, tc := range []struct {
		name   string
		rt     *proberRuntime
		want   string
		engine bool
	}{
		{"probe fails", &proberRuntime{probeErr: down}, BridgeAuto, true},
		{"probe fails, direct forced", &proberRuntime{probeErr: down}, BridgeDirect, true},
		{"source image missing", &proberRuntime{probeErr: fmt.Errorf("probe: %w", &ImageNotFoundError{Image: "src"})}, BridgeAuto, false},
		{"relay inspection fails, relay forced", &proberRuntime{inspectErr: down}, BridgeRelay, true},
		{"relay inspection fails, auto", &proberRuntime{inspectErr: down}, BridgeAuto, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := ResolveBridge(context.Background(), tc.rt, BridgeRequest{Want: tc.want, SourceImage: "src"})
			if err == nil {
				t.Fatalf("got %+v, want an error", plan)
			}
			var ee *BridgeEngineError
			if errors.As(err, &ee) != tc.engine {
				t.Errorf("error %v: engine error %v, want %v", err, !tc.engine, tc.engine)
			}
		})
	}
}
