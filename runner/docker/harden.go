package docker

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/ferrysync/ferry/runner"
)

// strictTmpfs is the writable scratch space of a strict container. It
// counts against the container's memory limit, which bounds it.
const strictTmpfs = "/tmp"

// harden applies runner.HardeningStrict to a container's settings: a
// non-root user, a read-only root filesystem, a tmpfs at /tmp (and HOME
// there, for caches), and a private volume for each directory the spec's
// files go to, since the Engine API cannot copy files into a read-only
// root filesystem but can into a volume of a created container.
func harden(spec runner.ConnectorSpec, img imageConfig, cfg *container.Config, host *container.HostConfig) error {
	switch {
	case spec.LocalRoot != "" || spec.SocketVolume != "":
		// The destination must write /local, whose owner Ferry knows; in
		// socket mode both connectors run as that user, since connecting
		// to a socket needs write permission on it.
		cfg.User = spec.LocalUser
		if cfg.User == "" {
			cfg.User = runner.StrictUser
		}
	case isRootUser(img.User):
		cfg.User = runner.StrictUser
	}
	if cfg.User != "" && !hasEnv(cfg.Env, "HOME") {
		// A uid without a passwd entry gets HOME=/, read-only here.
		cfg.Env = append(cfg.Env, "HOME="+strictTmpfs)
	}
	host.ReadonlyRootfs = true
	host.Tmpfs = map[string]string{strictTmpfs: "rw,nosuid,nodev,mode=1777"}
	dirs, err := fileDirs(spec.Files)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		// Anonymous, labelled: removed with the container (RemoveVolumes),
		// and found by a crash sweep like every volume Ferry makes.
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeVolume, Target: d,
			VolumeOptions: &mount.VolumeOptions{Labels: maps.Clone(cfg.Labels)}})
	}
	return nil
}

// fileDirs returns the top-level directories of a strict container's files
// (/source, /dest, /config): each becomes a volume the files are copied to.
func fileDirs(files map[string][]byte) ([]string, error) {
	set := map[string]bool{}
	for p := range files {
		top, rest, _ := strings.Cut(strings.TrimPrefix(path.Clean(p), "/"), "/")
		if !path.IsAbs(p) || top == "" || rest == "" {
			return nil, fmt.Errorf("container path %q: a strict container's files go in a directory below /", p)
		}
		set["/"+top] = true
	}
	return slices.Sorted(maps.Keys(set)), nil
}

// filesByDir groups files by fileDirs' directory.
func filesByDir(files map[string][]byte) map[string]map[string][]byte {
	out := map[string]map[string][]byte{}
	for p, b := range files {
		top, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		d := "/" + top
		if out[d] == nil {
			out[d] = map[string][]byte{}
		}
		out[d][p] = b
	}
	return out
}

// isRootUser reports whether an image's USER is root: unset, the name, or
// uid 0, with or without a group.
func isRootUser(u string) bool {
	name, _, _ := strings.Cut(strings.TrimSpace(u), ":")
	return name == "" || name == "root" || name == "0"
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}
