//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package daemon

import "log/slog"

// LocalRootUser cannot tell a directory's owner here: strict
// destinations run as runner.StrictUser.
func LocalRootUser(string, *slog.Logger) string { return "" }
