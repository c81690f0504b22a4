package local_test

import (
	"testing"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/local"
	"github.com/ferrysync/ferry/runner/runnertest"
)

// TestAcceptance holds the local runtime to the Runtime contract.
func TestAcceptance(t *testing.T) {
	bin := runnertest.BuildBinary(t, "testconn", runnertest.TestconnPkg)
	images := runnertest.TestImages{Testconn: bin, Missing: t.TempDir() + "/no-such-connector"}
	newRuntime := func(t *testing.T) runner.Runtime {
		return local.New(local.Options{TempDir: t.TempDir()})
	}
	leftovers := func(t *testing.T, marker string) []string {
		return runnertest.Processes(marker)
	}
	runnertest.RuntimeAcceptance(t, newRuntime, images, leftovers)
}
