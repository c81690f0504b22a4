package docker

import (
	"archive/tar"
	"bytes"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/ferrysync/ferry/runner"
)

// imageConfig is what the runtime needs to know of an image.
type imageConfig struct {
	ID         string
	Entrypoint []string
	Env        []string
	Labels     map[string]string
	// User is the image's USER ("" means root).
	User string
}

// entrypointEnv is the variable Airbyte images set equal to their
// entrypoint (docs/protocol.md 1.2).
const entrypointEnv = "AIRBYTE_ENTRYPOINT"

// containerConfig translates a spec into container settings. It is pure:
// everything it needs is passed in, so it is tested without an engine.
func containerConfig(spec runner.ConnectorSpec, img imageConfig, instance string, defaults runner.Resources) (*container.Config, *container.HostConfig, error) {
	entrypoint, err := entrypointFor(spec.Image, img)
	if err != nil {
		return nil, nil, err
	}
	ref := spec.Image
	if img.ID != "" {
		// Create from the inspected ID, so the container runs the image that
		// was checked even if the tag moves in between.
		ref = img.ID
	}
	cfg := &container.Config{
		Image:      ref,
		Entrypoint: entrypoint,
		Cmd:        spec.Args,
		Env:        envList(spec.Env),
		WorkingDir: spec.WorkDir,
		Labels:     labels(spec, instance),
		// Ferry reads the connector's streams as they are: no TTY, which
		// would merge stdout and stderr and mangle bytes.
		Tty:          false,
		AttachStdout: true,
		AttachStderr: true,
		// Stdin is opened only for destinations. StdinOnce makes the engine
		// close the connector's stdin when our attached stream half-closes,
		// which is how end of input reaches it.
		OpenStdin:   spec.OpenStdin,
		StdinOnce:   spec.OpenStdin,
		AttachStdin: spec.OpenStdin,
	}
	useInit := true
	host := &container.HostConfig{
		// Ferry reads the attached streams. The default json-file driver
		// would also write every record to disk and halve the throughput.
		LogConfig: container.LogConfig{Type: "none"},
		// An init process reaps zombies and forwards SIGTERM to connectors
		// that were not written to run as PID 1.
		Init:        &useInit,
		CapDrop:     []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"},
		NetworkMode: container.NetworkMode(spec.NetworkMode),
		Mounts:      mounts(spec),
		Resources:   resources(spec.Resources, defaults),
	}
	if spec.Hardening.Resolve(img.Labels) == runner.HardeningStrict {
		if err := harden(spec, img, cfg, host); err != nil {
			return nil, nil, err
		}
	}
	if spec.Role == runner.RoleRelay {
		// The relay connects to sockets the source created as its own
		// user, often with mode 0755 (its umask): connecting needs write
		// permission, so the relay, whatever user the source runs as,
		// keeps the one capability that overrides file permissions.
		host.CapAdd = []string{"DAC_OVERRIDE"}
	}
	return cfg, host, nil
}

// entrypointFor keeps the image's ENTRYPOINT (nil leaves it alone). An
// image without one falls back to its AIRBYTE_ENTRYPOINT, as Airbyte does.
func entrypointFor(ref string, img imageConfig) ([]string, error) {
	if len(img.Entrypoint) > 0 {
		return nil, nil
	}
	for _, kv := range img.Env {
		if k, v, _ := strings.Cut(kv, "="); k == entrypointEnv && strings.TrimSpace(v) != "" {
			return strings.Fields(v), nil
		}
	}
	return nil, fmt.Errorf("image %s has neither an ENTRYPOINT nor %s: it is not an Airbyte connector image", ref, entrypointEnv)
}

// imageEntrypoint is the command img declares for its connector, for
// runtimes that cannot inspect images (runner.ImageInfo.Entrypoint): its
// AIRBYTE_ENTRYPOINT split on whitespace, as Airbyte and the Kubernetes
// shim read it, else its ENTRYPOINT. Its CMD is not part of it: the
// connector's arguments replace CMD, as on Docker.
func imageEntrypoint(img imageConfig) []string {
	for _, kv := range img.Env {
		if k, v, _ := strings.Cut(kv, "="); k == entrypointEnv && strings.TrimSpace(v) != "" {
			return strings.Fields(v)
		}
	}
	if len(img.Entrypoint) > 0 {
		return slices.Clone(img.Entrypoint)
	}
	return nil
}

// labels are the spec's labels plus the instance and role, which the
// runtime owns so that a spec cannot make a container escape its sweep.
func labels(spec runner.ConnectorSpec, instance string) map[string]string {
	l := maps.Clone(spec.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelInstance] = instance
	if spec.Role != "" {
		l[LabelRole] = string(spec.Role)
	}
	return l
}

// envList renders env as sorted KEY=VALUE pairs.
func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		list = append(list, k+"="+env[k])
	}
	return list
}

// mounts are the local root and the socket volume, the only shared paths a
// connector sees. An absolute path is a host directory (bind mount);
// anything else names a volume, as under docker compose.
func mounts(spec runner.ConnectorSpec) []mount.Mount {
	var m []mount.Mount
	if spec.LocalRoot != "" {
		typ := mount.TypeVolume
		if path.IsAbs(spec.LocalRoot) {
			typ = mount.TypeBind
		}
		m = append(m, mount.Mount{Type: typ, Source: spec.LocalRoot, Target: runner.LocalDir})
	}
	if spec.SocketVolume != "" {
		// A host directory serves bridged mode, where Ferry itself connects
		// to the source's sockets; a volume serves socket mode.
		typ := mount.TypeVolume
		if path.IsAbs(spec.SocketVolume) {
			typ = mount.TypeBind
		}
		m = append(m, mount.Mount{Type: typ, Source: spec.SocketVolume, Target: runner.SocketDir})
	}
	return m
}

// resources applies the limits, falling back to defaults field by field.
// Swap is capped at the memory limit so the limit means what it says and an
// overrun ends in an OOM kill, not in swapping.
func resources(r, defaults runner.Resources) container.Resources {
	if r.MemoryBytes == 0 {
		r.MemoryBytes = defaults.MemoryBytes
	}
	if r.CPUs == 0 {
		r.CPUs = defaults.CPUs
	}
	if r.PidsLimit == 0 {
		r.PidsLimit = defaults.PidsLimit
	}
	var res container.Resources
	if r.MemoryBytes > 0 {
		res.Memory = r.MemoryBytes
		res.MemorySwap = r.MemoryBytes
	}
	if r.CPUs > 0 {
		res.NanoCPUs = int64(r.CPUs * 1e9)
	}
	if r.PidsLimit > 0 {
		pids := r.PidsLimit
		res.PidsLimit = &pids
	}
	return res
}

// filesTar packs files, keyed by absolute container path, into a tar to
// extract at base ("/", or a strict container's file directory, where
// every file must be). Every parent directory below base gets its own
// entry, so /source or /dest exist even in a FROM scratch image.
// Directories are 0755 and files 0644: the runtime copies them with the
// container user as owner (or, strict, leaves them root's but readable),
// and the container is the only place they are readable from.
func filesTar(files map[string][]byte, base string, mtime time.Time) ([]byte, error) {
	prefix := strings.TrimSuffix(base, "/") + "/"
	dirs := map[string]bool{}
	for p := range files {
		if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
			return nil, fmt.Errorf("container path %q: want a clean absolute path", p)
		}
		if !strings.HasPrefix(p, prefix) {
			return nil, fmt.Errorf("container path %q is not under %s", p, base)
		}
		for d := path.Dir(p); d+"/" != prefix && d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		if _, ok := files[d]; ok {
			return nil, fmt.Errorf("container path %q is both a file and a directory", d)
		}
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, prefix) + "/", Mode: 0o755, ModTime: mtime}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(p, prefix), Mode: 0o644, Size: int64(len(files[p])), ModTime: mtime}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[p]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
