package cdk

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// LocalRoot is the container path of the local root that local-file
// destinations write under (docs/protocol.md 1.2).
const LocalRoot = "/local"

// LocalRootEnv names the variable that maps LocalRoot to a host directory
// when a connector runs as a plain process (Ferry's local runtime).
const LocalRootEnv = "FERRY_LOCAL_ROOT"

// LocalPath resolves a user-supplied destination path the way Airbyte's
// local-file destinations do: a path not under /local is taken as relative
// to it ("/json_data" is "/local/json_data"), and a path that leaves /local
// once cleaned ("/local/../etc") is a config error. When FERRY_LOCAL_ROOT
// is set, the result is mapped onto that directory; otherwise it is the
// container path.
func LocalPath(p string) (string, error) {
	if strings.TrimSpace(p) == "" {
		return "", ConfigError("the path is empty")
	}
	// Airbyte prefixes before it normalizes, so "../x" and "/local/../x"
	// both escape and are refused.
	joined := p
	if p != LocalRoot && !strings.HasPrefix(p, LocalRoot+"/") {
		joined = LocalRoot + "/" + p
	}
	clean := path.Clean(joined)
	if clean != LocalRoot && !strings.HasPrefix(clean, LocalRoot+"/") {
		return "", ConfigError("path %q is outside %s, the local root", p, LocalRoot)
	}
	if root := os.Getenv(LocalRootEnv); root != "" {
		host := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(clean, LocalRoot)))
		if err := beneath(root, host); err != nil {
			return "", err
		}
		return host, nil
	}
	return clean, nil
}

// beneath refuses a host path that a symbolic link inside the local root
// leads out of it. In a container /local is a mount and a link resolves
// inside the container; a plain process (the local runtime) would follow
// it anywhere on the host. The deepest part of the path that exists is
// resolved (what does not exist yet holds no link) and must stay under
// the resolved root. A link made after this check is not caught: the
// local runtime is for development and tests, isolation is Docker's job.
func beneath(root, host string) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // made on first write: nothing in it can lead out yet
	}
	if err != nil {
		return ConfigError("the local root %s: %v", root, err)
	}
	for p := host; ; p = filepath.Dir(p) {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			if real != realRoot && !strings.HasPrefix(real, realRoot+string(filepath.Separator)) {
				return ConfigError("path %s leads outside %s, the local root, through a symbolic link", host, LocalRoot)
			}
			return nil
		}
		if _, lerr := os.Lstat(p); lerr == nil {
			// It exists but does not resolve: a dangling link, which a
			// write would create wherever it points.
			return ConfigError("path %s holds a symbolic link that does not resolve", host)
		}
		if p == root || p == filepath.Dir(p) {
			return nil
		}
	}
}
