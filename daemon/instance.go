package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ferrysync/ferry/runner"
)

// The instance ID names this data dir's daemon on the Docker engine: every
// container and volume it creates carries it as a label, and the crash
// sweep removes only leftovers with its own ID. It lives in the data dir,
// so a restart (or a kill -9) finds the same ID and cleans up after its
// earlier process, while a `ferry sync` or another data dir on the same
// engine is never touched.

var instanceIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{7,63}$`) // also accepts IDs set by hand

// loadOrCreateInstanceID reads the instance ID from path, creating it on
// first start. It is written to a temp file and renamed, so a crash never
// leaves an empty ID behind.
func loadOrCreateInstanceID(path string) (id string, created bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id = strings.TrimSpace(string(b))
		if !instanceIDRE.MatchString(id) {
			return "", false, fmt.Errorf("instance ID file %s holds %q, not an instance ID: remove it to make a new one", path, id)
		}
		return id, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, fmt.Errorf("read instance ID: %w", err)
	}
	id = newInstanceID()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("create instance ID: %w", err)
	}
	if err := runner.WriteFileAtomic(path, []byte(id+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("create instance ID: %w", err)
	}
	return id, true, nil
}

// newInstanceID returns 12 random hex digits: short enough to read in
// `docker ps`, random enough that two data dirs never collide. The runner
// puts the first 12 characters of the ID in container names, so all of
// them are random.
func newInstanceID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// newBootID tells apart two starts of the same instance, so recovery can
// tell its own running attempts from those of an earlier process even when
// a PID is reused.
func newBootID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}
