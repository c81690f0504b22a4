package runner

import (
	"context"
	"errors"
	"fmt"
)

// How Ferry reaches the source's sockets in bridged mode (Mode.Bridge).
const (
	// BridgeAuto probes: direct when Ferry shares a directory with the
	// source's container, the relay otherwise.
	BridgeAuto = "auto"
	// BridgeDirect: the source listens in a directory of Ferry's, bind-mounted
	// into its container, and Ferry dials the sockets there.
	BridgeDirect = "direct"
	// BridgeRelay: the source listens on the attempt's socket volume, and
	// the relay container carries the sockets' bytes over its stdio.
	BridgeRelay = "relay"
)

// DefaultRelayImage is the relay's image, built by `make images`.
const DefaultRelayImage = "ferry/relay:dev"

// ParseBridge checks a bridge setting; "" means BridgeAuto.
func ParseBridge(s string) (string, error) {
	switch s {
	case "", BridgeAuto:
		return BridgeAuto, nil
	case BridgeDirect, BridgeRelay:
		return s, nil
	}
	return "", fmt.Errorf("bridge %q: want auto, direct or relay", s)
}

// DirProber is implemented by runtimes whose connectors may not see
// Ferry's filesystem: Docker, where Ferry may itself run in a container,
// and a directory it creates is then not the host path the engine
// bind-mounts. The answer comes from a probe, not from a marker file such
// as /.dockerenv: the engine may well share Ferry's filesystem although
// Ferry runs in a container (a bind-mounted /tmp), or not although Ferry
// runs on a host (a remote engine).
type DirProber interface {
	// SharesDirs reports whether a directory Ferry creates in its temp
	// dir is the one a container sees when the runtime bind-mounts it,
	// and if not, why. image is any image on the engine; it is never
	// started. Runtimes cache the answer.
	SharesDirs(ctx context.Context, image string) (bool, string, error)
}

// NoBridge is implemented by runtimes on which Ferry can reach a source's
// sockets neither directly nor through the relay: on Kubernetes the
// sockets live in the pod's own emptyDir. Bridged mode then runs in stdio
// mode, for the reason given.
type NoBridge interface {
	NoBridgeReason() string
}

// BridgeRequest is what ResolveBridge decides from.
type BridgeRequest struct {
	// Want is the setting: BridgeAuto (or ""), BridgeDirect or BridgeRelay.
	Want string
	// SourceImage serves the probe (created, never started).
	SourceImage string
	// RelayImage is the relay's image; "" means DefaultRelayImage.
	RelayImage string
}

// BridgePlan is ResolveBridge's answer.
type BridgePlan struct {
	// Bridge is BridgeDirect or BridgeRelay; empty when Unavailable.
	Bridge string
	// Reason says why, for the attempt log.
	Reason string
	// Unavailable, with BridgeAuto only, says why neither works here (no
	// shared directory and no relay image): the caller then gives stdio
	// mode (ModeRequest.NoBridge).
	Unavailable string
}

// ResolveBridge decides how bridged mode reaches the source's sockets on
// rt: directly when the probe says Ferry and the source can share a
// directory, else through the relay. A forced choice that cannot work
// here is an error, never a silent fallback.
func ResolveBridge(ctx context.Context, rt Runtime, req BridgeRequest) (BridgePlan, error) {
	want, err := ParseBridge(req.Want)
	if err != nil {
		return BridgePlan{}, err
	}
	relayImage := req.RelayImage
	if relayImage == "" {
		relayImage = DefaultRelayImage
	}
	if nb, ok := rt.(NoBridge); ok {
		why := nb.NoBridgeReason()
		if want != BridgeAuto {
			return BridgePlan{}, fmt.Errorf("bridged mode cannot run on the %s runtime: %s", rt.Name(), why)
		}
		return BridgePlan{Unavailable: why}, nil
	}
	prober, docker := rt.(DirProber)
	if !docker {
		// The local runtime's connectors are Ferry's own processes.
		if want == BridgeRelay {
			return BridgePlan{}, fmt.Errorf("the relay runs on the Docker runtime only, not on the %s runtime", rt.Name())
		}
		return BridgePlan{Bridge: BridgeDirect, Reason: "the " + rt.Name() + " runtime's connectors share Ferry's filesystem"}, nil
	}
	if want == BridgeRelay {
		if err := relayPresent(ctx, rt, relayImage); err != nil {
			return BridgePlan{}, err
		}
		return BridgePlan{Bridge: BridgeRelay, Reason: "the relay was asked for"}, nil
	}
	shared, why, err := prober.SharesDirs(ctx, req.SourceImage)
	if err != nil {
		return BridgePlan{}, engineError(fmt.Errorf("probe whether the source's container can share a directory with Ferry: %w", err))
	}
	switch {
	case shared && want == BridgeDirect:
		return BridgePlan{Bridge: BridgeDirect, Reason: "the direct bridge was asked for"}, nil
	case shared:
		return BridgePlan{Bridge: BridgeDirect, Reason: "the probe found that the engine shares Ferry's temp directory"}, nil
	case want == BridgeDirect:
		return BridgePlan{}, fmt.Errorf("the direct bridge cannot work here: %s; use the relay (--bridge relay or auto)", why)
	}
	if err := relayPresent(ctx, rt, relayImage); err != nil {
		var ee *BridgeEngineError
		if errors.As(err, &ee) {
			return BridgePlan{}, err
		}
		return BridgePlan{Unavailable: fmt.Sprintf("Ferry cannot reach the source's sockets (%s), and %v", why, err)}, nil
	}
	return BridgePlan{Bridge: BridgeRelay, Reason: "Ferry cannot reach a directory the source shares (" + why + "): the relay carries the sockets"}, nil
}

// relayPresent checks that the relay's image is on the engine.
func relayPresent(ctx context.Context, rt Runtime, image string) error {
	insp, ok := rt.(ImageInspector)
	if !ok {
		return nil
	}
	if _, err := insp.InspectImage(ctx, image); err != nil {
		var nf *ImageNotFoundError
		if errors.As(err, &nf) {
			return fmt.Errorf("the relay's image is missing: %w", err)
		}
		return engineError(fmt.Errorf("inspect the relay's image: %w", err))
	}
	return nil
}

// BridgeEngineError is the engine failing while Ferry decides how to
// reach the source's sockets (the probe, the relay image's inspection):
// a fault of Ferry's runtime, not of the configuration, so a later attempt
// may pass. A missing image is not one: that needs a build.
type BridgeEngineError struct{ Err error }

func (e *BridgeEngineError) Error() string { return e.Err.Error() }
func (e *BridgeEngineError) Unwrap() error { return e.Err }

// engineError wraps err as a BridgeEngineError unless it is a missing
// image.
func engineError(err error) error {
	var nf *ImageNotFoundError
	if errors.As(err, &nf) {
		return err
	}
	return &BridgeEngineError{Err: err}
}
