package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// importPause imports the sandbox image, pauseImage, made by kubepause
// (built beside kubecluster).
func (c *cluster) importPause(ctx context.Context) error {
	return c.importFrom(ctx, pauseImage, exec.CommandContext(ctx, pausePath(), "archive", pauseImage))
}

func pausePath() string {
	self, err := os.Executable()
	if err != nil {
		return "kubepause"
	}
	return filepath.Join(filepath.Dir(self), "kubepause")
}

// importImages copies local Docker images into the cluster's containerd,
// where pods with imagePullPolicy Never find them: no registry is
// reachable here.
func importImages(ctx context.Context, dir string, images []string) error {
	if len(images) == 0 {
		return fmt.Errorf("import: name at least one image")
	}
	c, err := loadCluster(dir)
	if err != nil {
		return err
	}
	for _, img := range images {
		if err := c.importFrom(ctx, img, exec.CommandContext(ctx, "docker", "save", img)); err != nil {
			return err
		}
		fmt.Printf("kubecluster: imported %s\n", img)
	}
	return nil
}

// importFrom pipes src's stdout (a docker-save tar) into
// `ctr -n k8s.io images import -` on the cluster's containerd.
func (c *cluster) importFrom(ctx context.Context, img string, src *exec.Cmd) error {
	dst := exec.CommandContext(ctx, "/usr/bin/ctr", "--address", c.socket(), "-n", "k8s.io", "images", "import", "-")
	pipe, err := src.StdoutPipe()
	if err != nil {
		return err
	}
	var srcErr, dstOut bytes.Buffer
	src.Stderr = &srcErr
	dst.Stdin = pipe
	dst.Stdout, dst.Stderr = &dstOut, &dstOut
	if err := src.Start(); err != nil {
		return fmt.Errorf("import %s: %w", img, err)
	}
	dstErr := dst.Run()
	if err := src.Wait(); err != nil {
		return fmt.Errorf("import %s: %s: %w: %s", img, src.Args[0], err, strings.TrimSpace(srcErr.String()))
	}
	if dstErr != nil {
		return fmt.Errorf("import %s: ctr: %w: %s", img, dstErr, strings.TrimSpace(dstOut.String()))
	}
	return nil
}
