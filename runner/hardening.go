package runner

import "fmt"

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

// ParseHardening checks a level given by a user or a label.
func ParseHardening(s string) (Hardening, error) {
	switch h := Hardening(s); h {
	case HardeningAuto, HardeningStrict, HardeningCompatible:
		return h, nil
	}
	return "", fmt.Errorf("hardening %q: want strict, compatible or empty (the image's label decides)", s)
}

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
