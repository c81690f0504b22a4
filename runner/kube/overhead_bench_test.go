package kube

import (
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/docker"
	"github.com/ferrysync/ferry/runner/runnertest"
)

// firstByte records when its first Write came.
type firstByte struct {
	once sync.Once
	at   time.Time
}

func (f *firstByte) Write(b []byte) (int, error) {
	f.once.Do(func() { f.at = time.Now() })
	return len(b), nil
}

// BenchmarkAttemptOverhead measures what running a connector costs on each
// runtime, beside each other in one run: from the call to its first output
// byte (pod or container created, started, attached) and from the
// connector's last byte (it writes one line and exits) to the run's
// return with everything removed.
//
//	make kube-test KUBE_TEST_ARGS='-run ^$ -bench AttemptOverhead -benchtime 10x'
func BenchmarkAttemptOverhead(b *testing.B) {
	c := requireCluster(b, map[string]string{"testconn": runnertest.TestconnPkg})
	d := runnertest.RequireDocker(b)
	drt, err := docker.New(d, docker.Options{InstanceID: "bench-overhead"})
	if err != nil {
		b.Fatal(err)
	}
	for _, rt := range []runner.Runtime{c.rt, drt} {
		b.Run(rt.Name(), func(b *testing.B) {
			var toFirst, afterLast time.Duration
			n := 0
			for b.Loop() {
				n++
				spec := runner.ConnectorSpec{Name: fmt.Sprintf("ferry-bench-%d", n), Image: c.images["testconn"],
					Args: []string{"out", "record"}, Labels: map[string]string{runner.LabelInstance: "bench-overhead"}}
				out := &firstByte{}
				start := time.Now()
				if _, err := rt.Run(b.Context(), spec, runner.Stdio{Out: out, Err: io.Discard}); err != nil {
					b.Fatal(err)
				}
				end := time.Now()
				toFirst += out.at.Sub(start)
				afterLast += end.Sub(out.at)
			}
			b.ReportMetric(float64(toFirst.Milliseconds())/float64(n), "ms-to-first-byte")
			b.ReportMetric(float64(afterLast.Milliseconds())/float64(n), "ms-after-last-byte")
		})
	}
}

// BenchmarkSyncOverhead measures a whole attempt of 10 faker records on
// each runtime, beside each other in one run: on Kubernetes one pod, of
// three containers in stdio mode (source, destination, the pump) and two
// in socket mode; on Docker two containers (Ferry pumps in stdio mode).
// Nearly all of it is the runtime's start and removal.
//
//	make kube-test KUBE_TEST_ARGS='-run ^$ -bench SyncOverhead -benchtime 5x'
func BenchmarkSyncOverhead(b *testing.B) {
	c := requireCluster(b, map[string]string{
		"source-faker": "./connectors/source-faker", "destination-jsonl": "./connectors/destination-jsonl"})
	d := runnertest.RequireDocker(b)
	drt, err := docker.New(d, docker.Options{InstanceID: "kube-test"})
	if err != nil {
		b.Fatal(err)
	}
	for _, rt := range []runner.Runtime{c.rt, drt} {
		for _, mode := range []runner.Mode{{Mode: protocol.ModeStdio}, {Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 1}} {
			b.Run(rt.Name()+"-"+mode.Mode, func(b *testing.B) {
				for b.Loop() {
					root := b.TempDir()
					os.Chmod(root, 0o777) //nolint:errcheck // the destination may not run as root
					if _, err := c.syncFakerOn(b.Context(), b, rt, mode, root, 10, io.Discard); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
