package docker

import (
	"strings"
	"unicode/utf8"

	"github.com/containerd/errdefs"
)

// engineError shows users a short form of an engine error while keeping
// the original for errors.Is and errors.As (errdefs classifications,
// client.IsErrNotFound).
type engineError struct {
	op  string
	err error
}

func (e *engineError) Error() string { return e.op + ": " + shorten(e.err.Error()) }
func (e *engineError) Unwrap() error { return e.err }

// wrapErr names the operation and shortens the engine's text; nil stays nil.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &engineError{op: op, err: err}
}

// maxErrorText caps what users see of one engine error.
const maxErrorText = 300

// shorten trims the engine's error text to what a user can act on. The
// engine wraps the interesting part in layers of transport and runtime
// detail, for example
//
//	Error response from daemon: failed to create shim task: OCI runtime
//	create failed: runc create failed: unable to start container process:
//	exec: "/connector": stat /connector: no such file or directory: unknown
//
// becomes `exec: "/connector": stat /connector: no such file or directory`.
// Windows engines append "extra info:" with environment variables, which
// may hold secrets (drone-runner-docker's TrimExtraInfo does the same).
func shorten(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if i := strings.Index(s, "extra info:"); i >= 0 {
		s = strings.TrimSuffix(strings.TrimSpace(s[:i]), "(0x2)")
	}
	s = strings.TrimPrefix(s, "Error response from daemon: ")
	if _, rest, ok := strings.Cut(s, "unable to start container process: "); ok {
		s = rest
	}
	s = strings.TrimSpace(strings.TrimSuffix(s, ": unknown"))
	if len(s) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// isRemovalInProgress reports the engine's answer to removing a container
// that another request is already removing.
func isRemovalInProgress(err error) bool {
	return errdefs.IsConflict(err) && strings.Contains(err.Error(), "already in progress")
}
