//go:build !ferry_failpoints

package failpoint

// Enabled reports whether this build honours failpoints.
const Enabled = false

// Hit does nothing: this build ignores failpoints, whatever the
// environment says.
func Hit(string) {}
