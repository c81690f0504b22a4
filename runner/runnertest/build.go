package runnertest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// TestconnPkg is the package of the acceptance suite's subject, relative to
// the module root.
const TestconnPkg = "./runner/runnertest/testconn"

// RelayPkg is bridged mode's relay, built as the image ferry/relay (with
// BuildImage(t, "relay", RelayPkg)), as `make images` does.
const RelayPkg = "./cmd/ferry-relay"

// builds remembers what this test process has built, so each image or
// binary is built once however many tests ask for it.
var builds sync.Map // key -> *build

type build struct {
	once sync.Once
	out  string
	err  error
}

func buildOnce(key string, f func() (string, error)) (string, error) {
	v, _ := builds.LoadOrStore(key, new(build))
	b := v.(*build)
	b.once.Do(func() { b.out, b.err = f() })
	return b.out, b.err
}

// BuildBinary builds the main package pkg (relative to the module root, e.g.
// TestconnPkg) as a static binary, once per test process, and returns its
// path. Binaries go to a fixed per-user cache directory, one per source
// tree, and are replaced by rename, so concurrent test processes never see
// a half-written file and no temp directories pile up. The source tree is
// part of the path because several checkouts (git worktrees) test on one
// machine: with one directory for all, a test would run the binary another
// checkout built last, not its own.
func BuildBinary(t testing.TB, name, pkg string) string {
	t.Helper()
	return BuildBinaryTags(t, name, pkg, "")
}

// BuildBinaryTags is BuildBinary with build tags (comma-separated, as go
// build -tags takes them), e.g. "ferry_failpoints" for the crash tests.
// Give a tagged build its own name: binaries are cached by name.
func BuildBinaryTags(t testing.TB, name, pkg, tags string) string {
	t.Helper()
	path, err := buildOnce("bin:"+name+"="+pkg+"+"+tags, func() (string, error) {
		root, err := ModuleRoot()
		if err != nil {
			return "", err
		}
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		tree := sha256.Sum256([]byte(root))
		dir = filepath.Join(dir, "ferry", "testbin", hex.EncodeToString(tree[:6]))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		final := filepath.Join(dir, name)
		tmp := fmt.Sprintf("%s.tmp%d", final, os.Getpid())
		cmd := exec.Command("go", "build", "-trimpath", "-tags", tags, "-o", tmp, pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
		return final, os.Rename(tmp, final)
	})
	if err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	return path
}

// ImageTagEnv names the tag BuildImage gives its images instead of "dev".
// Test runs of different checkouts that share one Docker engine set it to
// tell their images apart: with one tag, one run may sync with the
// connectors another run just built.
const ImageTagEnv = "FERRY_TEST_IMAGE_TAG"

// BuildImage builds the main package pkg into the image ferry/<name>:dev with
// scripts/build-images.sh, once per test process, and returns the image
// reference. The tag is the same one `make images` uses (or $FERRY_TEST_IMAGE_TAG)
// and the build is reproducible, so the image is left in place for the next run.
func BuildImage(t testing.TB, name, pkg string) string {
	t.Helper()
	tag := os.Getenv(ImageTagEnv)
	if tag == "" {
		tag = "dev"
	}
	ref, err := buildOnce("image:"+name+"="+pkg, func() (string, error) {
		root, err := ModuleRoot()
		if err != nil {
			return "", err
		}
		// One retry: other test processes and engineers build on the same
		// engine, and the classic builder now and then trips over a
		// concurrent build of the same tag.
		var errs []error
		for attempt := range 2 {
			if attempt > 0 {
				time.Sleep(time.Second)
			}
			cmd := exec.Command(filepath.Join(root, "scripts", "build-images.sh"), name+"="+pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "TAG="+tag)
			out, err := cmd.CombinedOutput()
			if err == nil {
				return "ferry/" + name + ":" + tag, nil
			}
			errs = append(errs, fmt.Errorf("build-images.sh %s=%s: %v\n%s", name, pkg, err, out))
		}
		return "", errors.Join(errs...)
	})
	if err != nil {
		t.Fatalf("build image %s: %v", name, err)
	}
	return ref
}

// ModuleRoot returns the directory holding go.mod, found from the working
// directory upwards (tests run in their package's directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// RequireDockerEnv, set to 1, turns a missing Docker engine from a skip into
// a failure. CI sets it.
const RequireDockerEnv = "FERRY_REQUIRE_DOCKER"

// RequireDocker returns a client for the Docker engine named by the usual
// DOCKER_* variables, with API version negotiation. When no engine answers,
// it skips the test, or fails it when FERRY_REQUIRE_DOCKER=1.
func RequireDocker(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = c.Ping(ctx)
		cancel()
		if err != nil {
			c.Close()
		}
	}
	if err == nil {
		if _, lerr := exec.LookPath("docker"); lerr != nil {
			c.Close()
			err = errors.New("the docker CLI, which builds the test images, is not on PATH")
		}
	}
	if err != nil {
		msg := fmt.Sprintf("no Docker engine answers (%v); set %s=1 to fail instead of skipping", firstLine(err.Error()), RequireDockerEnv)
		if os.Getenv(RequireDockerEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// BareEntrypoint is where BuildBareImage puts the connector, and the
// image's ENTRYPOINT: a path no reference image uses, so a test can tell
// the command read from it apart from theirs (/connector).
const BareEntrypoint = "/bare/connector"

// BuildBareImage builds the main package pkg into ferry/<name>:<tag> (tag
// as BuildImage's) with nothing but the binary at BareEntrypoint and that
// as its ENTRYPOINT: no AIRBYTE_ENTRYPOINT, no labels, as images built
// outside Airbyte's conventions are. Once per test process.
func BuildBareImage(t testing.TB, name, pkg string) string {
	t.Helper()
	bin := BuildBinary(t, name+"-bare", pkg)
	tag := os.Getenv(ImageTagEnv)
	if tag == "" {
		tag = "dev"
	}
	ref, err := buildOnce("bare:"+name+"="+pkg, func() (string, error) {
		dir, err := os.MkdirTemp("", "ferry-bare-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(dir)
		b, err := os.ReadFile(bin)
		if err != nil {
			return "", err
		}
		dockerfile := "FROM scratch\nCOPY connector " + BareEntrypoint + "\nENTRYPOINT [\"" + BareEntrypoint + "\"]\n"
		if err := os.WriteFile(filepath.Join(dir, "connector"), b, 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
			return "", err
		}
		ref := "ferry/" + name + ":" + tag
		cmd := exec.Command("docker", "build", "-q", "-t", ref, dir)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("docker build %s: %v\n%s", ref, err, out)
		}
		return ref, nil
	})
	if err != nil {
		t.Fatalf("build bare image %s: %v", name, err)
	}
	return ref
}
