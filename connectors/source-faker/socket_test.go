package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/protocol"
)

// socketRead runs an incremental read in socket mode over n sockets, the
// test playing the destination, and returns source stdout and what came
// over the sockets: record ids by partition and stream.
func socketRead(t *testing.T, n int, args ...string) (stdout string, parts map[string]map[string][]int64) {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i := 1; i <= n; i++ {
		paths = append(paths, filepath.Join(dir, fmt.Sprintf("s%d.sock", i)))
	}
	t.Setenv(cdk.EnvMedium, cdk.MediumSocket)
	t.Setenv(cdk.EnvFormat, cdk.FormatJSONL)
	t.Setenv(cdk.EnvSocketPaths, strings.Join(paths, ","))
	var out bytes.Buffer
	done := make(chan int)
	go func() {
		done <- cdk.Run(context.Background(), source{}, args, cdk.Stdio{In: strings.NewReader(""), Out: &out, Err: io.Discard})
	}()
	parts = map[string]map[string][]int64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range paths {
		c := dialRetry(t, p)
		wg.Go(func() {
			defer c.Close()
			r := bufio.NewReaderSize(c, 1<<20)
			for {
				line, err := r.ReadBytes('\n')
				if err != nil {
					return
				}
				env, err := protocol.ScanEnvelope(bytes.TrimSpace(line))
				if err != nil || env.Type != protocol.TypeRecord {
					continue
				}
				var m struct {
					Record struct {
						Data struct{ ID int64 } `json:"data"`
					} `json:"record"`
				}
				if err := json.Unmarshal(line, &m); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if parts[env.PartitionID] == nil {
					parts[env.PartitionID] = map[string][]int64{}
				}
				parts[env.PartitionID][env.Stream] = append(parts[env.PartitionID][env.Stream], m.Record.Data.ID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if code := <-done; code != 0 {
		t.Fatalf("read: exit %d: %s", code, out.String())
	}
	return out.String(), parts
}

func dialRetry(t *testing.T, path string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s: %v", path, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSocketPartitions reads users and purchases split over 4 sockets and
// checks that every id arrives once, and that every state, in the order
// the destination acknowledges them (id order), claims only records that
// the states up to it cover: resuming from any acknowledged state never
// skips a record. Resuming from the last state reads nothing.
func TestSocketPartitions(t *testing.T) {
	const count = 9000
	cfg := file(t, "c.json", fmt.Sprintf(`{"count": %d, "seed": 3, "records_per_slice": 500}`, count))
	cat := catalog(t, protocol.SyncIncremental, "users", "purchases")
	stdout, parts := socketRead(t, 4, "read", "--config", cfg, "--catalog", cat)
	covered := map[string]map[int64]bool{"users": {}, "purchases": {}}
	last := map[string]*protocol.State{}
	states := 0
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		m, err := protocol.Decode([]byte(line))
		if err != nil || m.Type != protocol.TypeState {
			continue
		}
		st := m.State
		name := st.Stream.StreamDescriptor.Name
		ids := parts[st.PartitionID][name]
		if got := float64(*st.SourceStats.RecordCount); got != float64(len(ids)) {
			t.Fatalf("state %s/%d counts %v records, its partition has %d", name, *st.ID, got, len(ids))
		}
		for _, id := range ids {
			if covered[name][id] {
				t.Fatalf("record %s/%d arrived twice", name, id)
			}
			covered[name][id] = true
		}
		mark, err := (&stream{base: baseTime}).firstID(st.Stream.StreamState)
		if err != nil {
			t.Fatal(err)
		}
		for id := int64(1); id < mark; id++ {
			if !covered[name][id] {
				t.Fatalf("state %s/%d resumes at %d but record %d is not covered by the states up to it", name, *st.ID, mark, id)
			}
		}
		last[name] = st
		states++
	}
	for name, ids := range covered {
		if len(ids) != count {
			t.Errorf("stream %s: %d distinct records, want %d", name, len(ids), count)
		}
	}
	if len(parts) != states {
		t.Errorf("%d partitions for %d states: want one partition per state", len(parts), states)
	}
	if last["purchases"] == nil {
		t.Fatal("no state for purchases")
	}
	sf := file(t, "state.json", `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"purchases"},"stream_state":`+string(last["purchases"].Stream.StreamState)+`}}]`)
	cat = catalog(t, protocol.SyncIncremental, "purchases")
	_, parts = socketRead(t, 2, "read", "--config", cfg, "--catalog", cat, "--state", sf)
	for p, byStream := range parts {
		if len(byStream["purchases"]) > 0 {
			t.Errorf("resumed read from the last state sent records %v in partition %s", byStream, p)
		}
	}
}
