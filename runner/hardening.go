package runner

import (
	"context"

	"github.com/ferrysync/ferry/protocol"
)

// Hardening is how locked down a connector's container runs. Every
// connector runs without capabilities, with no-new-privileges and with
// memory and pids limits; strict adds a non-root user and a read-only
// root filesystem (docs/design.md, "Connector containers").
type Hardening string

// Hardening levels.
const (
	// HardeningAuto takes the level the image asks for with the label
	// LabelHardening, and compatible when it has none.
	HardeningAuto Hardening = ""
	// HardeningStrict runs the connector as a non-root user (the image's
	// own USER when it names one that is not root, else StrictUser) on a
	// read-only root filesystem. Writable are a tmpfs at /tmp (HOME points
	// there), the directories its files are copied to (a private volume
	// each), /local and the socket directory.
	HardeningStrict Hardening = "strict"
	// HardeningCompatible runs the connector as its image says (often
	// root) on a writable root filesystem, as Airbyte does: real Airbyte
	// images write to their root filesystem (see docs/design.md).
	HardeningCompatible Hardening = "compatible"
)

// LabelHardening is the image label that asks for a hardening level
// ("strict" or "compatible"). scripts/build-images.sh sets it to strict
// on Ferry's own connectors.
const LabelHardening = "io.ferry.hardening"

// StrictUser is the uid:gid a strict connector runs as when its image
// names no non-root user and it has no /local to write: a number no
// system account uses (the "nonroot" user of distroless images).
const StrictUser = "65532:65532"

// Resolve returns the level a connector runs at: h itself unless it is
// auto, else what the image's labels ask for, else compatible.
func (h Hardening) Resolve(labels map[string]string) Hardening {
	if h != HardeningAuto {
		return h
	}
	if Hardening(labels[LabelHardening]) == HardeningStrict {
		return HardeningStrict
	}
	return HardeningCompatible
}

// matchSocketHardening makes the two connectors of a socket-mode attempt
// run as one user. The destination connects to sockets the source
// creates, which needs write permission on the socket file, and the
// source's umask (usually 022) gives that to its own user only;
// connectors run without capabilities, so not even a root destination
// gets past it. Strict connectors of an attempt share one user (the local
// root's, see ConnectorSpec.LocalUser), so when the two levels differ,
// both run compatible, and the log says why.
func (s *syncRun) matchSocketHardening(ctx context.Context, src, dst *ConnectorSpec) {
	if !s.path.speaksSockets(RoleSource) || !s.path.speaksSockets(RoleDestination) {
		return
	}
	insp, ok := s.rt.(ImageInspector)
	if !ok {
		return
	}
	resolve := func(sp *ConnectorSpec) (Hardening, bool) {
		if sp.Hardening != HardeningAuto {
			return sp.Hardening, true
		}
		info, err := insp.InspectImage(ctx, sp.Image)
		if err != nil {
			return "", false // Run reports the missing image
		}
		return sp.Hardening.Resolve(info.Labels), true
	}
	a, okA := resolve(src)
	b, okB := resolve(dst)
	if !okA || !okB || a == b {
		return
	}
	src.Hardening, dst.Hardening = HardeningCompatible, HardeningCompatible
	s.log.Printf(protocol.LevelInfo, "ferry", "socket mode: the source's hardening is %s and the destination's %s; both run compatible, so that the destination can reach the source's sockets", a, b)
}
