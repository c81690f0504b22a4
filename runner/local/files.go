package local

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ferrysync/ferry/runner"
)

// LocalRootEnv names the variable that tells a connector where its /local
// directory really is. The local runtime mounts nothing, so connectors built
// on the connector kit map "/local/..." paths in their config to it.
const LocalRootEnv = "FERRY_LOCAL_ROOT"

// passEnv lists the variables a connector inherits from Ferry. Everything
// else is left out, because Ferry's own environment (tokens, database paths)
// is none of a connector's business and a Docker container would not see it
// either.
var passEnv = []string{"PATH", "HOME", "LANG", "LC_ALL", "TZ", "GOCOVERDIR"}

// layout is where one run's container paths live on the host.
type layout struct {
	root  string            // the private per-run directory
	paths map[string]string // container path of each file -> host path
	dir   string            // the working directory on the host
}

// newLayout maps spec's files and working directory under root. It checks
// the paths but touches no disk.
func newLayout(root string, spec runner.ConnectorSpec) (layout, error) {
	l := layout{root: root, paths: make(map[string]string, len(spec.Files))}
	for p := range spec.Files {
		host, err := hostPath(root, p)
		if err != nil {
			return l, err
		}
		l.paths[p] = host
	}
	l.dir = root
	if spec.WorkDir != "" {
		host, err := hostPath(root, spec.WorkDir)
		if err != nil {
			return l, fmt.Errorf("work dir: %w", err)
		}
		l.dir = host
	}
	return l, nil
}

// hostPath maps an absolute container path under root.
func hostPath(root, p string) (string, error) {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
		return "", fmt.Errorf("container path %q: want a clean absolute path", p)
	}
	return filepath.Join(root, p), nil
}

// write creates the working directory and the files. Files are 0600 in 0700
// directories: they may hold plaintext secrets and only the connector, which
// runs as Ferry's user, reads them.
func (l layout) write(files map[string][]byte) error {
	for _, d := range []string{l.dir, filepath.Join(l.root, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		host := l.paths[p]
		if err := os.MkdirAll(filepath.Dir(host), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(host, files[p], 0o600); err != nil {
			return err
		}
	}
	return nil
}

// args rewrites the arguments that name a placed file, either whole
// ("/source/catalog.json") or as a flag value ("--catalog=/source/catalog.json").
// Nothing else is touched: a connector that builds paths itself gets them
// wrong, and that is what the Docker runtime is for.
func (l layout) args(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = l.rewrite(a)
	}
	return out
}

func (l layout) rewrite(v string) string {
	if host, ok := l.paths[v]; ok {
		return host
	}
	if k, p, ok := strings.Cut(v, "="); ok && strings.HasPrefix(k, "-") {
		if host, ok := l.paths[p]; ok {
			return k + "=" + host
		}
	}
	return v
}

// env builds the connector's environment: the pass-through variables, then
// spec.Env with placed-file values remapped and the socket directory
// replaced, then the local root. TMPDIR points into the run directory so a
// connector's temp files go when the run does.
func (l layout) env(spec runner.ConnectorSpec, getenv func(string) string) []string {
	vars := map[string]string{}
	for _, k := range passEnv {
		if v := getenv(k); v != "" {
			vars[k] = v
		}
	}
	vars["TMPDIR"] = filepath.Join(l.root, "tmp")
	for k, v := range spec.Env {
		v = l.rewrite(v)
		if spec.SocketVolume != "" {
			v = strings.ReplaceAll(v, runner.SocketDir, spec.SocketVolume)
		}
		vars[k] = v
	}
	if spec.LocalRoot != "" {
		vars[LocalRootEnv] = spec.LocalRoot
	}
	env := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		env = append(env, k+"="+vars[k])
	}
	return env
}
