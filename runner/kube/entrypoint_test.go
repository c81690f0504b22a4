package kube

import (
	"strings"
	"testing"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/kube/kubetest"
	"github.com/ferrysync/ferry/runner/kube/shim"
	"github.com/ferrysync/ferry/runner/runnertest"
)

// TestDefinitionEntrypoint runs a connector whose image declares no
// AIRBYTE_ENTRYPOINT: with the definition's entrypoint in its spec (leading
// arguments included, the run's arguments after them) it runs; without,
// the shim refuses it with its own exit code and a message that says to
// set the definition's entrypoint.
func TestDefinitionEntrypoint(t *testing.T) {
	c := requireCluster(t, nil)
	image := runnertest.BuildBareImage(t, "testconn-bare", runnertest.TestconnPkg)
	kubetest.Import(t, image)
	run := func(entrypoint []string) (string, string, runner.ExitStatus) {
		var out, errOut strings.Builder
		spec := runner.ConnectorSpec{Name: "ferry-test-entrypoint", Image: image, Entrypoint: entrypoint,
			Args: []string{"out", "from-args"}, Labels: map[string]string{runner.LabelInstance: "kube-entrypoint"}}
		st, err := c.rt.Run(t.Context(), spec, runner.Stdio{Out: &out, Err: &errOut})
		if err != nil {
			t.Fatalf("Run (entrypoint %q): %v", entrypoint, err)
		}
		return out.String(), errOut.String(), st
	}
	out, errOut, st := run([]string{runnertest.BareEntrypoint, "out", "from-entrypoint"})
	if want := "from-entrypoint\nfrom-args\n"; st.Code != 0 || out != want {
		t.Errorf("with the definition's entrypoint: %+v, stdout %q (stderr %q), want exit 0 and %q", st, out, errOut, want)
	}
	out, errOut, st = run(nil)
	if st.Code != shim.ExitNoEntrypoint || out != "" || !strings.Contains(errOut, "set the definition's entrypoint") {
		t.Errorf("without one: %+v, stdout %q, stderr %q; want exit %d naming the definition's entrypoint",
			st, out, errOut, shim.ExitNoEntrypoint)
	}
	if left := c.labelled(t, runner.LabelInstance+"=kube-entrypoint"); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}
