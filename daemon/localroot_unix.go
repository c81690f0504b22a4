//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package daemon

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// strictUID and strictGID are runner.StrictUser.
const strictUID, strictGID = 65532, 65532

// LocalRootUser returns the uid:gid that can write the local root dir,
// for strict destinations to run as (runner.ConnectorSpec.LocalUser):
//   - its owner, when that is not root: Ferry runs as that user and made
//     the directory (0700), so connectors write files Ferry's user owns;
//   - when root owns it and Ferry runs as root (docker compose, or a root
//     daemon), Ferry gives it, and everything in it that root owns, to
//     runner.StrictUser once: the files compatible (root) destinations
//     wrote before stay writable by strict ones. Root can still read and
//     write everything, so nothing else changes.
//
// It returns "" when neither applies (root owns it and Ferry is not root):
// strict destinations then cannot write /local, and say so when they try.
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
	if os.Geteuid() != 0 {
		log.Warn("local root: root owns it and Ferry does not run as root; strict destinations cannot write it", "dir", dir)
		return ""
	}
	n, err := giveRootOwned(dir)
	if err != nil {
		log.Warn("local root: could not give it to the strict connectors' user", "dir", dir, "error", err)
		return ""
	}
	log.Info("local root: given to the strict connectors' user", "dir", dir, "user", fmt.Sprintf("%d:%d", strictUID, strictGID), "entries", n)
	return fmt.Sprintf("%d:%d", strictUID, strictGID)
}

// giveRootOwned changes the owner of dir and of every entry below it that
// root owns to strictUID:strictGID. It never follows a symlink (Lchown,
// and WalkDir does not descend into them), so a link in the local root
// cannot hand out a file outside it.
func giveRootOwned(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid == 0 {
			if err := os.Lchown(path, strictUID, strictGID); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
