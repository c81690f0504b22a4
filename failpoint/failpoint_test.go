package failpoint

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestReleaseBuildIgnoresFailpoints: without the build tag an armed
// failpoint returns at once, so the variable cannot pause a release build.
func TestReleaseBuildIgnoresFailpoints(t *testing.T) {
	if Enabled {
		t.Skip("built with ferry_failpoints")
	}
	t.Setenv(Env, FinalCommit)
	done := make(chan struct{})
	go func() { Hit(FinalCommit); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Hit paused in a build without ferry_failpoints")
	}
}

// TestTaggedBuildPausesAtNthHit runs this test binary's helper, built with
// the tag, and checks that it pauses at the armed hit and says so.
func TestTaggedBuildPausesAtNthHit(t *testing.T) {
	if os.Getenv("FAILPOINT_HELPER") == "1" {
		for i := 1; i <= 3; i++ {
			os.Stdout.WriteString("hit " + string(rune('0'+i)) + "\n")
			Hit(CheckpointCommitted)
		}
		os.Exit(0)
	}
	if testing.Short() {
		t.Skip("builds a test binary")
	}
	bin := t.TempDir() + "/fp.test"
	if out, err := exec.Command("go", "test", "-c", "-tags", "ferry_failpoints", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-test.run", "^TestTaggedBuildPausesAtNthHit$")
	cmd.Env = append(os.Environ(), "FAILPOINT_HELPER=1", Env+"=other, "+CheckpointCommitted+"@2")
	var out strings.Builder
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line := make([]byte, 256)
	n, err := stderr.Read(line)
	if err != nil {
		t.Fatalf("read the helper's stderr: %v", err)
	}
	if got, want := string(line[:n]), Marker+CheckpointCommitted+"\n"; got != want {
		t.Fatalf("stderr %q, want %q", got, want)
	}
	// The marker is written after the second hit's line reached stdout,
	// and the helper never gets to the third.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if got := out.String(); got != "hit 1\nhit 2\n" {
		t.Errorf("helper got to %q, want to pause at the second hit", got)
	}
}
