//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package daemon

import (
	"fmt"
	"log/slog"
	"os"
	"syscall"

	"github.com/ferrysync/ferry/runner"
)

// strictGID is runner.StrictUser's group.
const strictGID = 65532

// LocalRootUser returns the uid:gid that can write the local root dir,
// for strict destinations to run as (runner.ConnectorSpec.LocalUser):
//   - its owner, when that is not root: Ferry runs as that user and made
//     the directory, so strict connectors write files Ferry's user owns;
//   - runner.StrictUser when root owns it (docker compose, or a daemon
//     run as root). Connectors run without capabilities, so a
//     connector's root is not the owner's root: Ferry gives the top
//     directory to StrictUser's group, mode 0770, which strict (uid
//     65532, that group) and compatible (often uid 0, the owner)
//     destinations then share, and no other user. What each writes below
//     it belongs to its own uid: a destination switched from one level to
//     the other cannot rewrite the other's files (docs/design.md,
//     "Connector containers").
//
// It returns "" when root owns it and Ferry, not root, cannot open it:
// strict destinations then fail to write /local, and say so.
func LocalRootUser(dir string, log *slog.Logger) string {
	fi, err := os.Stat(dir)
	if err != nil {
		log.Warn("local root: cannot tell its owner; strict destinations may not write it", "dir", dir, "error", err)
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	if st.Uid != 0 {
		return fmt.Sprintf("%d:%d", st.Uid, st.Gid)
	}
	if st.Gid != strictGID || fi.Mode().Perm() != 0o770 {
		err := os.Chown(dir, -1, strictGID)
		if err == nil {
			err = os.Chmod(dir, 0o770)
		}
		if err != nil {
			log.Warn("local root: root owns it and Ferry cannot open it to strict destinations; they cannot write /local", "dir", dir, "error", err)
			return ""
		}
		log.Info("local root: opened to strict destinations (group 65532, mode 0770)", "dir", dir)
	}
	return runner.StrictUser
}
