package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// cgroupMounts are the cgroup v1 hierarchies' mount points (one per
// controller set) under /sys/fs/cgroup.
func cgroupMounts() ([]string, error) {
	mounts, err := mountPoints()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range mounts {
		if strings.HasPrefix(m, "/sys/fs/cgroup/") && !slices.Contains(out, m) {
			if _, err := os.Stat(filepath.Join(m, "cgroup.procs")); err == nil {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// makeCgroupRoot creates c.cgroupRoot() in every hierarchy: the kubelet
// refuses a cgroup root that does not exist. A new cpuset cgroup starts
// with no CPUs and no memory nodes, so it gets its parent's.
func (c *cluster) makeCgroupRoot() error {
	mounts, err := cgroupMounts()
	if err != nil {
		return err
	}
	for _, m := range mounts {
		dir := filepath.Join(m, c.cgroupRoot())
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := os.ReadFile(filepath.Join(m, f))
			if err != nil {
				continue // not the cpuset hierarchy
			}
			if err := os.WriteFile(filepath.Join(dir, f), v, 0o644); err != nil {
				return fmt.Errorf("cgroup %s/%s: %w", dir, f, err)
			}
		}
	}
	return nil
}

// removeCgroupRoot removes c.cgroupRoot() and everything below it, deepest
// first (a cgroup directory is removed with rmdir, once empty of
// processes and child cgroups).
func (c *cluster) removeCgroupRoot() error {
	mounts, err := cgroupMounts()
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		root := filepath.Join(m, c.cgroupRoot())
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		slices.SortFunc(dirs, func(a, b string) int { return len(b) - len(a) })
		for _, d := range dirs {
			if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}
