//go:build linux || darwin

package daemon

import "syscall"

// freeBytes returns the space available to Ferry on dir's filesystem, and
// false when it cannot tell.
func freeBytes(dir string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true //nolint:unconvert // the field types differ by platform
}
