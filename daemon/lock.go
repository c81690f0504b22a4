package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lockFileName is the data dir's lock, held by the daemon that has it
// open. Two daemons on one data dir share the instance ID, so each one's
// recovery would take the other's running attempts for leftovers of a
// crash: fail them ("daemon restarted") and sweep their containers (G6).
// The lock makes the second one refuse to start instead. It is an advisory
// lock on the open file, so the kernel drops it when the process dies, even
// by kill -9, and the next start is never blocked by a stale lock.
const lockFileName = "lock"

// errLocked is what lockFile returns when another process holds the lock.
var errLocked = errors.New("locked")

// dataDirLock is a held lock; release is idempotent.
type dataDirLock struct{ f *os.File }

// lockDataDir takes the data dir's lock, or explains who holds it.
func lockDataDir(dir string) (*dataDirLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			holder := ""
			if b, rerr := os.ReadFile(path); rerr == nil {
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
					holder = fmt.Sprintf(" (pid %d)", pid)
				}
			}
			return nil, fmt.Errorf("data dir %s is in use by another ferry serve%s: stop it, or use another --data-dir", dir, holder)
		}
		return nil, fmt.Errorf("lock data dir %s: %w", dir, err)
	}
	// The PID is only for the message above; the lock is what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dataDirLock{f: f}, nil
}

func (l *dataDirLock) release() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Close() // closing the file drops the lock
	l.f = nil
}
