package cdk

import (
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
		return filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(clean, LocalRoot))), nil
	}
	return clean, nil
}
