package kube

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
)

// fakerCatalog selects faker's three streams as full refresh, overwrite.
func fakerCatalog() *protocol.ConfiguredCatalog {
	c := &protocol.ConfiguredCatalog{}
	for _, s := range []string{"users", "purchases", "products"} {
		c.Streams = append(c.Streams, protocol.ConfiguredStream{
			Stream: protocol.Stream{Name: s, JSONSchema: json.RawMessage(`{"type":"object"}`),
				SupportedSyncModes: []string{protocol.SyncFullRefresh}},
			SyncMode: protocol.SyncFullRefresh, DestinationSyncMode: protocol.DestOverwrite,
		})
	}
	return c
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// syncFaker runs faker -> jsonl as one pod in mode, writing under root.
func (c *cluster) syncFaker(ctx context.Context, t testing.TB, mode runner.Mode, root string, count int, log io.Writer) (*runner.Result, error) {
	t.Helper()
	return c.syncFakerOn(ctx, t, c.rt, mode, root, count, log)
}

// syncFakerOn is syncFaker on rt, with the cluster's images.
func (c *cluster) syncFakerOn(ctx context.Context, t testing.TB, rt runner.Runtime, mode runner.Mode, root string, count int, log io.Writer) (*runner.Result, error) {
	t.Helper()
	return runner.Sync(ctx, rt, runner.Config{
		InstanceID: "kube-test", JobID: 1, Attempt: 1, Mode: mode,
		Source: runner.Connector{Image: c.images["source-faker"],
			Config: json.RawMessage(`{"count":` + itoa(count) + `,"seed":7}`)},
		Destination: runner.Connector{Image: c.images["destination-jsonl"],
			Config: json.RawMessage(`{"destination_path":"/local/out"}`)},
		Catalog:      fakerCatalog(),
		Checkpointer: runner.CheckpointFunc(func(context.Context, runner.Checkpoint) error { return nil }),
		LocalRoot:    root,
		Log:          io.MultiWriter(logWriter{t}, log),
	})
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestSyncAsPod: faker -> jsonl as one pod, in stdio mode (records through
// the pod's pump container, Ferry keeping the books from its frames) and
// socket mode (records over the pod's Memory emptyDir, Ferry keeping the
// books): every record arrives, and nothing is left in the cluster. In
// stdio mode what Ferry read from the pod is a small fraction of the
// records' bytes: they did not cross the pod's boundary.
func TestSyncAsPod(t *testing.T) {
	c := requireCluster(t, map[string]string{
		"source-faker": "./connectors/source-faker", "destination-jsonl": "./connectors/destination-jsonl"})
	for _, mode := range []runner.Mode{
		{Mode: protocol.ModeStdio},
		{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2},
		{Mode: protocol.ModeSocket, Format: protocol.FormatProtobuf, Sockets: 2},
	} {
		t.Run(mode.Mode+"-"+mode.Format, func(t *testing.T) {
			root := t.TempDir()
			os.Chmod(root, 0o777) //nolint:errcheck // the destination may not run as root
			var log strings.Builder
			res, err := c.syncFaker(t.Context(), t, mode, root, 2000, &log)
			if err != nil {
				t.Fatalf("sync: %v", err)
			}
			if mode.Mode == protocol.ModeStdio {
				checkPumped(t, log.String(), res)
			}
			if res.Mode != mode.Mode {
				t.Fatalf("ran in %s mode, want %s", res.Mode, mode.Mode)
			}
			total := 0
			for _, s := range []string{"users", "purchases", "products"} {
				n := countLines(t, filepath.Join(root, "out", s+".jsonl"))
				var committed int64 = -1
				for _, st := range res.Stats.Streams {
					if st.Stream.Name == s {
						committed = st.RecordsCommitted
					}
				}
				if n == 0 || int64(n) != committed {
					t.Errorf("stream %s: %d lines, %d records committed", s, n, committed)
				}
				total += n
			}
			if total != 4100 {
				t.Errorf("%d records in all, want 4100 (2000 users, 2000 purchases, 100 products)", total)
			}
			if left := c.labelled(t, "io.ferry.instance=kube-test"); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// checkPumped checks that a stdio attempt ran the pump and that Ferry
// read less than a tenth of the records' bytes from the pod.
func checkPumped(t *testing.T, log string, res *runner.Result) {
	t.Helper()
	m := regexp.MustCompile(`the pump sent Ferry (\d+) bytes`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("the attempt log does not say the pump ran:\n%s", log)
	}
	sent, _ := strconv.ParseInt(m[1], 10, 64)
	var records int64
	for _, st := range res.Stats.Streams {
		records += st.BytesEmitted
	}
	t.Logf("the pump sent Ferry %d bytes for %d bytes of records", sent, records)
	if records == 0 || sent*10 > records {
		t.Errorf("Ferry read %d bytes from the pod for %d bytes of records: the records crossed the pod's boundary", sent, records)
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// startedSync runs a long faker -> jsonl sync in stdio mode under
// instance and calls onRecords once, from the progress callback, when the
// first records have moved.
func (c *cluster) startedSync(ctx context.Context, t *testing.T, instance string, onRecords func()) (*runner.Result, error) {
	t.Helper()
	root := t.TempDir()
	os.Chmod(root, 0o777) //nolint:errcheck // the destination may not run as root
	var once sync.Once
	return runner.Sync(ctx, c.rt, runner.Config{
		InstanceID: instance, JobID: 2, Attempt: 1, Mode: runner.Mode{Mode: protocol.ModeStdio},
		Source: runner.Connector{Image: c.images["source-faker"],
			Config: json.RawMessage(`{"count":50000000,"seed":7}`)},
		Destination: runner.Connector{Image: c.images["destination-jsonl"],
			Config: json.RawMessage(`{"destination_path":"/local/out"}`)},
		Catalog:          fakerCatalog(),
		Checkpointer:     runner.CheckpointFunc(func(context.Context, runner.Checkpoint) error { return nil }),
		LocalRoot:        root,
		Log:              logWriter{t},
		ProgressInterval: 100 * time.Millisecond,
		OnProgress: func(p runner.Progress) {
			if p.Stats.RecordsEmitted > 0 {
				once.Do(onRecords)
			}
		},
	})
}

// TestCancelRemovesPod: cancelling a sync mid-stream ends it as cancelled
// and leaves no pod or Secret behind.
func TestCancelRemovesPod(t *testing.T) {
	c := requireCluster(t, map[string]string{
		"source-faker": "./connectors/source-faker", "destination-jsonl": "./connectors/destination-jsonl"})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	res, err := c.startedSync(ctx, t, "kube-cancel", cancel)
	if err == nil || res.Status != runner.StatusCancelled {
		t.Fatalf("sync: status %s, %v; want cancelled", res.Status, err)
	}
	if left := c.labelled(t, "io.ferry.instance=kube-cancel"); len(left) > 0 {
		t.Errorf("left behind after cancel: %v", left)
	}
}

// TestDeletedPodFailsAttempt: a pod deleted mid-sync (kubectl delete pod)
// fails the attempt with a reason that says so, and nothing is left.
func TestDeletedPodFailsAttempt(t *testing.T) {
	c := requireCluster(t, map[string]string{
		"source-faker": "./connectors/source-faker", "destination-jsonl": "./connectors/destination-jsonl"})
	pods := c.rt.core.Pods(c.rt.opts.Namespace)
	res, err := c.startedSync(t.Context(), t, "kube-deleted", func() {
		list, err := pods.List(t.Context(), metav1.ListOptions{LabelSelector: "io.ferry.instance=kube-deleted"})
		if err != nil || len(list.Items) != 1 {
			t.Errorf("find the sync's pod: %v, %d pods", err, len(list.Items))
			return
		}
		if err := pods.Delete(t.Context(), list.Items[0].Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete pod: %v", err)
		}
	})
	if err == nil || res.Status != runner.StatusFailed {
		t.Fatalf("sync: status %s, %v; want failed", res.Status, err)
	}
	var reasons []string
	for _, f := range res.Failures {
		reasons = append(reasons, f.ExternalMessage)
	}
	if !strings.Contains(strings.Join(reasons, "\n"), "was lost: it was deleted") {
		t.Errorf("failures %q: none says the pod was deleted", reasons)
	}
	if left := c.labelled(t, "io.ferry.instance=kube-deleted"); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}
