//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package daemon

import "os"

// lockFile is a no-op where flock is not available: the data dir is not
// protected against a second daemon there.
func lockFile(*os.File) error { return nil }
