package runner_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrysync/ferry/clock"
	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
)

// fileState is a state file checkpointer that also counts commits.
type fileState struct {
	runner.FileCheckpointer
	mu      sync.Mutex
	commits int
}

func (f *fileState) Commit(ctx context.Context, cp runner.Checkpoint) error {
	f.mu.Lock()
	f.commits++
	f.mu.Unlock()
	return f.FileCheckpointer.Commit(ctx, cp)
}

func (f *fileState) states(t *testing.T) []*protocol.State {
	t.Helper()
	b, err := os.ReadFile(f.Path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	states, err := protocol.ParseStateFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return states
}

// scenario is one sync's setup.
type scenario struct {
	source, destination string // connector names
	sourceConfig        string
	destConfig          string
	catalog             *protocol.ConfiguredCatalog
	state               []*protocol.State
	timeouts            runner.Timeouts
	attempt             int
	mode                runner.Mode
	clock               clock.Clock
	onProgress          func(runner.Progress)
}

func (e *env) sync(t *testing.T, ctx context.Context, localRoot string, sc scenario, cp runner.Checkpointer) (*runner.Result, error) {
	t.Helper()
	if sc.attempt == 0 {
		sc.attempt = 1
	}
	return runner.Sync(ctx, e.rt, runner.Config{
		InstanceID:   e.instance,
		JobID:        1,
		Attempt:      sc.attempt,
		Mode:         sc.mode,
		Source:       runner.Connector{Image: e.images[sc.source], Config: json.RawMessage(sc.sourceConfig)},
		Destination:  runner.Connector{Image: e.images[sc.destination], Config: json.RawMessage(sc.destConfig)},
		Catalog:      sc.catalog,
		State:        sc.state,
		Checkpointer: cp,
		LocalRoot:    localRoot,
		Timeouts:     sc.timeouts,
		Clock:        sc.clock,
		OnProgress:   sc.onProgress,
		Log:          testLog{t},
	})
}

// testLog sends the attempt log to the test log, so a failure shows it.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// catalogOf configures streams incrementally (append) with their default
// cursor, or full refresh overwrite.
func catalogOf(mode, destMode string, streams ...string) *protocol.ConfiguredCatalog {
	c := &protocol.ConfiguredCatalog{}
	for _, s := range streams {
		c.Streams = append(c.Streams, protocol.ConfiguredStream{
			Stream: protocol.Stream{Name: s,
				JSONSchema:          json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer"},"updated_at":{"type":"string"}}}`),
				SupportedSyncModes:  []string{protocol.SyncFullRefresh, protocol.SyncIncremental},
				SourceDefinedCursor: true, DefaultCursorField: []string{"updated_at"}},
			SyncMode: mode, DestinationSyncMode: destMode,
		})
	}
	return c
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := protocol.NewReader(f, 0)
	n := 0
	for {
		if _, err := r.ReadLine(); err != nil {
			return n
		}
		n++
	}
}

// TestE2EFakerToJSONLIncremental: a faker -> jsonl sync of 100k records
// arrives complete with state committed, and a second sync from that state
// reads only the new records.
func TestE2EFakerToJSONLIncremental(t *testing.T) {
	envs(t, func(t *testing.T, e *env) {
		root := t.TempDir()
		os.Chmod(root, 0o777)
		cp := &fileState{FileCheckpointer: runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}}
		cat := catalogOf(protocol.SyncIncremental, protocol.DestAppend, "users", "purchases")
		sc := scenario{source: "source-faker", destination: "destination-jsonl",
			sourceConfig: `{"count":50000,"seed":7}`, destConfig: `{"destination_path":"/local/out"}`, catalog: cat}
		res, err := e.sync(t, context.Background(), root, sc, cp)
		if err != nil {
			t.Fatalf("first sync: %v", err)
		}
		if res.Stats.RecordsEmitted != 100000 || res.Stats.RecordsCommitted != 100000 {
			t.Fatalf("first sync: emitted %d, committed %d; want 100000 each", res.Stats.RecordsEmitted, res.Stats.RecordsCommitted)
		}
		for _, s := range []string{"users", "purchases"} {
			if n := countLines(t, filepath.Join(root, "out", s+".jsonl")); n != 50000 {
				t.Fatalf("%s.jsonl: got %d lines, want 50000", s, n)
			}
		}
		states := cp.states(t)
		if len(states) != 2 {
			t.Fatalf("committed state: got %d streams, want 2", len(states))
		}

		sc.sourceConfig = `{"count":60000,"seed":7}`
		sc.state = states
		res, err = e.sync(t, context.Background(), root, sc, cp)
		if err != nil {
			t.Fatalf("second sync: %v", err)
		}
		if res.Stats.RecordsEmitted != 20000 {
			t.Fatalf("second sync: emitted %d, want only the 20000 new records", res.Stats.RecordsEmitted)
		}
		if n := countLines(t, filepath.Join(root, "out", "users.jsonl")); n != 60000 {
			t.Fatalf("users.jsonl: got %d lines, want 60000", n)
		}
	})
}

// receivedIDs reads connector-scripted's received-records file.
func receivedIDs(t *testing.T, path string) map[int]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[int]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var m struct {
			Record struct {
				Data struct{ ID int } `json:"data"`
			} `json:"record"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("received file: %v", err)
		}
		seen[m.Record.Data.ID]++
	}
	return seen
}

// TestE2EDestinationCrashResume: the destination crashes after
// acknowledging state 4 of 10; exactly state 4 is committed, and the retry
// from it delivers every record at least once with no gap (G3).
func TestE2EDestinationCrashResume(t *testing.T) {
	envs(t, func(t *testing.T, e *env) {
		for _, mode := range testModes {
			t.Run(mode.Mode, func(t *testing.T) { crashResume(t, e, mode) })
		}
	})
}

// testModes are the data channels the guarantee tests run in.
var testModes = []runner.Mode{{Mode: protocol.ModeStdio}, {Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}}

func crashResume(t *testing.T, e *env, mode runner.Mode) {
	{
		root := t.TempDir()
		os.Chmod(root, 0o777)
		cp := &fileState{FileCheckpointer: runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}}
		cat := catalogOf(protocol.SyncIncremental, protocol.DestAppend, "items")
		src := `{"source":{"records":100,"state_every":10}}`
		sc := scenario{source: "connector-scripted", destination: "connector-scripted", sourceConfig: src,
			destConfig: `{"destination":{"output_path":"/local/received.jsonl","crash_after_ack":4}}`, catalog: cat, mode: mode}
		res, err := e.sync(t, context.Background(), root, sc, cp)
		if err == nil {
			t.Fatal("first attempt succeeded; want a destination crash")
		}
		if res.Failures[0].Origin != protocol.OriginDestination {
			t.Fatalf("failure origin: got %s, want destination", res.Failures[0].Origin)
		}
		states := cp.states(t)
		b, _ := json.Marshal(states)
		if !strings.Contains(string(b), `"cursor":40`) {
			t.Fatalf("committed: got %s, want the 4th state (cursor 40)", b)
		}
		sc.state, sc.attempt = states, 2
		sc.destConfig = `{"destination":{"output_path":"/local/received.jsonl"}}`
		if _, err := e.sync(t, context.Background(), root, sc, cp); err != nil {
			t.Fatalf("retry: %v", err)
		}
		seen := receivedIDs(t, filepath.Join(root, "received.jsonl"))
		for id := 1; id <= 100; id++ {
			if seen[id] == 0 {
				t.Fatalf("record %d never arrived: a gap", id)
			}
		}
		if seen[45] < 1 || seen[41] < 1 {
			t.Fatalf("records after the committed state were not re-sent: %v", seen[41])
		}
	}
}

// TestE2EBadAcks: forged, regressing and foreign-stream acknowledgements
// from a real destination process are never committed.
func TestE2EBadAcks(t *testing.T) {
	envs(t, func(t *testing.T, e *env) {
		for _, mode := range []string{"forged_unknown_id", "regressing_id", "foreign_stream"} {
			t.Run(mode, func(t *testing.T) {
				root := t.TempDir()
				os.Chmod(root, 0o777)
				cp := &fileState{FileCheckpointer: runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}}
				sc := scenario{source: "connector-scripted", destination: "connector-scripted",
					sourceConfig: `{"source":{"records":30,"state_every":10}}`,
					destConfig:   fmt.Sprintf(`{"destination":{"ack":%q}}`, mode),
					catalog:      catalogOf(protocol.SyncIncremental, protocol.DestAppend, "items")}
				res, err := e.sync(t, context.Background(), root, sc, cp)
				b, _ := json.Marshal(cp.states(t))
				switch mode {
				case "regressing_id":
					// Older acks are ignored; the honest ones commit.
					if err != nil || !strings.Contains(string(b), `"cursor":30`) {
						t.Fatalf("err %v, committed %s; want success at cursor 30", err, b)
					}
				default:
					if err == nil || len(res.ProtocolErrors) == 0 {
						t.Fatalf("err %v, protocol errors %v; want refused acknowledgements", err, res.ProtocolErrors)
					}
					if len(cp.states(t)) != 0 && strings.Contains(string(b), "cursor") {
						t.Fatalf("a bad acknowledgement was committed: %s", b)
					}
				}
			})
		}
	})
}

// TestE2ESourceFailureKeepsOldData is G5: a source that exits 1 after
// emitting everything gets no COMPLETE, so destination-jsonl keeps the
// previous overwrite result.
func TestE2ESourceFailureKeepsOldData(t *testing.T) {
	envs(t, func(t *testing.T, e *env) {
		root := t.TempDir()
		os.Chmod(root, 0o777)
		cat := catalogOf(protocol.SyncFullRefresh, protocol.DestOverwrite, "items")
		cp := &fileState{FileCheckpointer: runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}}
		sc := scenario{source: "connector-scripted", destination: "destination-jsonl",
			sourceConfig: `{"source":{"records":5}}`, destConfig: `{"destination_path":"/local/out"}`, catalog: cat}
		if _, err := e.sync(t, context.Background(), root, sc, cp); err != nil {
			t.Fatalf("first sync: %v", err)
		}
		out := filepath.Join(root, "out", "items.jsonl")
		if n := countLines(t, out); n != 5 {
			t.Fatalf("after the first sync: %d lines, want 5", n)
		}
		sc.sourceConfig = `{"source":{"records":50,"exit_code":1,"error_message":"source blew up"}}`
		res, err := e.sync(t, context.Background(), root, sc, cp)
		if err == nil || !strings.Contains(res.Failures[0].ExternalMessage, "source blew up") {
			t.Fatalf("second sync: err %v, failures %+v; want the source's error", err, res.Failures)
		}
		if n := countLines(t, out); n != 5 {
			t.Fatalf("after the failed sync: %d lines, want the old 5", n)
		}
	})
}

// TestE2ELiveness: a source that hangs after acknowledged work hits the
// no-progress timeout, the acknowledged state is kept, and the connectors
// are gone afterwards. The attempt runs on a fake clock that moves only once
// the source has hung, so a slow container start never counts.
func TestE2ELiveness(t *testing.T) {
	envs(t, func(t *testing.T, e *env) {
		root := t.TempDir()
		os.Chmod(root, 0o777)
		cp := &fileState{FileCheckpointer: runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}}
		clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		var checked atomic.Int64
		sc := scenario{source: "connector-scripted", destination: "connector-scripted",
			sourceConfig: `{"source":{"records":100,"state_every":5,"hang_after_record":10}}`, destConfig: `{}`,
			catalog:  catalogOf(protocol.SyncIncremental, protocol.DestAppend, "items"),
			timeouts: runner.Timeouts{NoProgress: time.Minute, StopGrace: 2 * time.Second},
			clock:    clk, onProgress: func(p runner.Progress) { checked.Store(int64(p.Elapsed)) }}
		done := make(chan struct{})
		go func() {
			// Once the state before the hang is committed, move the clock a
			// watchdog tick (1 s) at a time until the attempt ends.
			poll := time.NewTicker(5 * time.Millisecond)
			defer poll.Stop()
			hung := false
			for {
				select {
				case <-done:
					return
				case <-poll.C:
				}
				if !hung {
					b, _ := os.ReadFile(cp.Path)
					hung = strings.Contains(string(b), `"cursor":10`)
					continue
				}
				if time.Duration(checked.Load()) > 24*time.Hour {
					return // the limit never tripped; the test fails below
				}
				clk.Advance(time.Second)
			}
		}()
		res, err := e.sync(t, context.Background(), root, sc, cp)
		close(done)
		if err == nil || res.Failures[0].Type != protocol.FailureHeartbeatTimeout {
			t.Fatalf("err %v, failures %+v; want a heartbeat_timeout", err, res.Failures)
		}
		if b, _ := json.Marshal(cp.states(t)); !strings.Contains(string(b), `"cursor":10`) {
			t.Fatalf("committed %s; want the state acknowledged before the hang", b)
		}
		if e.leftovers != nil {
			if l := e.leftovers(t); len(l) > 0 {
				t.Fatalf("containers left behind: %v", l)
			}
		}
	})
}

// TestE2EHugeLinesGarbageAndStderr: a 30 MB record passes; garbage lines
// and a stderr flood do not break the sync.
func TestE2EHugeLinesGarbageAndStderr(t *testing.T) {
	envs(t, func(t *testing.T, e *env) {
		root := t.TempDir()
		os.Chmod(root, 0o777)
		cp := &fileState{FileCheckpointer: runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}}
		sc := scenario{source: "connector-scripted", destination: "connector-scripted",
			sourceConfig: `{"source":{"records":20,"state_every":5,"omit_source_stats":true,"huge_line_bytes":31457280,"huge_line_after_record":3,"garbage_lines":50,"stderr_bytes":20000000}}`,
			destConfig:   `{"destination":{"output_path":"/local/received.jsonl"}}`,
			catalog:      catalogOf(protocol.SyncIncremental, protocol.DestAppend, "items")}
		res, err := e.sync(t, context.Background(), root, sc, cp)
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		if res.Stats.RecordsEmitted != 21 || res.Stats.BytesEmitted < 30<<20 {
			t.Fatalf("emitted %d records, %d bytes; want 21 records including the 30 MB one", res.Stats.RecordsEmitted, res.Stats.BytesEmitted)
		}
		if seen := receivedIDs(t, filepath.Join(root, "received.jsonl")); len(seen) != 20 || seen[3] != 2 {
			t.Fatalf("received %d ids (record 3 %d times); want 20, with record 3 twice", len(seen), seen[3])
		}
	})
}

// TestE2ECancel: cancelling mid-sync leaves no container or process behind
// and reports a cancel.
func TestE2ECancel(t *testing.T) {
	envs(t, func(t *testing.T, e *env) {
		for _, mode := range testModes {
			t.Run(mode.Mode, func(t *testing.T) { cancelMidSync(t, e, mode) })
		}
	})
}

func cancelMidSync(t *testing.T, e *env, mode runner.Mode) {
	{
		root := t.TempDir()
		os.Chmod(root, 0o777)
		cp := &fileState{FileCheckpointer: runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sc := scenario{source: "connector-scripted", destination: "connector-scripted",
			sourceConfig: `{"source":{"records":1000,"state_every":10,"hang_after_record":20}}`, destConfig: `{}`,
			catalog:  catalogOf(protocol.SyncIncremental, protocol.DestAppend, "items"),
			timeouts: runner.Timeouts{StopGrace: 2 * time.Second}, mode: mode}
		go func() {
			for i := 0; i < 300; i++ {
				time.Sleep(50 * time.Millisecond)
				if b, _ := os.ReadFile(cp.Path); strings.Contains(string(b), `"cursor":20`) {
					break
				}
			}
			cancel()
		}()
		res, err := e.sync(t, ctx, root, sc, cp)
		if err == nil || res.Status != runner.StatusCancelled {
			t.Fatalf("got %s (%v), want cancelled", res.Status, err)
		}
		if e.leftovers != nil {
			if l := e.leftovers(t); len(l) > 0 {
				t.Fatalf("containers left behind: %v", l)
			}
		}
		if e.volumes != nil {
			if v := e.volumes(t); len(v) > 0 {
				t.Fatalf("volumes left behind: %v", v)
			}
		}
	}
}

// dataIDs returns the sorted ids in a destination-jsonl file.
func dataIDs(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var row struct {
			Data struct{ ID int } `json:"_airbyte_data"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		ids = append(ids, row.Data.ID)
	}
	sort.Ints(ids)
	return ids
}

// TestE2ESocketMode: faker -> jsonl over 2 and 8 sockets, in JSONL and
// PROTOBUF, and in bridged mode, delivers exactly the records of the stdio
// run, commits the state, and leaves no container or volume behind.
func TestE2ESocketMode(t *testing.T) {
	envs(t, func(t *testing.T, e *env) {
		cat := catalogOf(protocol.SyncIncremental, protocol.DestAppend, "users", "purchases")
		run := func(t *testing.T, mode runner.Mode) (map[string][]int, *runner.Result) {
			root := t.TempDir()
			os.Chmod(root, 0o777)
			cp := &fileState{FileCheckpointer: runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}}
			sc := scenario{source: "source-faker", destination: "destination-jsonl",
				sourceConfig: `{"count":20000,"seed":11,"records_per_slice":2500}`, destConfig: `{"destination_path":"/local/out"}`, catalog: cat}
			res, err := runner.Sync(context.Background(), e.rt, runner.Config{
				InstanceID: e.instance, JobID: 1, Attempt: 1, Mode: mode,
				Source:      runner.Connector{Image: e.images[sc.source], Config: json.RawMessage(sc.sourceConfig)},
				Destination: runner.Connector{Image: e.images[sc.destination], Config: json.RawMessage(sc.destConfig)},
				Catalog:     sc.catalog, Checkpointer: cp, LocalRoot: root, Log: testLog{t},
				Timeouts: runner.Timeouts{SocketConnect: time.Minute},
			})
			if err != nil {
				t.Fatalf("%s sync: %v", mode.Mode, err)
			}
			if states := cp.states(t); len(states) != 2 {
				t.Fatalf("%s sync: committed %d stream states, want 2", mode.Mode, len(states))
			}
			out := map[string][]int{}
			for _, s := range []string{"users", "purchases"} {
				out[s] = dataIDs(t, filepath.Join(root, "out", s+".jsonl"))
			}
			return out, res
		}
		want, _ := run(t, runner.Mode{Mode: protocol.ModeStdio})
		if len(want["users"]) != 20000 {
			t.Fatalf("stdio run: %d users, want 20000", len(want["users"]))
		}
		for _, m := range []runner.Mode{
			{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2},
			{Mode: protocol.ModeSocket, Format: protocol.FormatProtobuf, Sockets: 8},
			{Mode: protocol.ModeBridged, Format: protocol.FormatJSONL, Sockets: 2},
			{Mode: protocol.ModeBridged, Format: protocol.FormatProtobuf, Sockets: 4},
		} {
			t.Run(fmt.Sprintf("%s-%s-%d", m.Mode, m.Format, m.Sockets), func(t *testing.T) {
				got, res := run(t, m)
				for s, ids := range want {
					if fmt.Sprint(got[s]) != fmt.Sprint(ids) {
						t.Fatalf("%s: %d records differ from the stdio run's %d", s, len(got[s]), len(ids))
					}
				}
				if st := res.Stats; res.Mode != m.Mode || res.Sockets != m.Sockets || st.RecordsCommitted != 40000 || st.BytesEmitted < st.BytesCommitted || st.BytesCommitted == 0 {
					t.Fatalf("result: mode %s, %d sockets, %d committed, %d of %d bytes (issue 12: never 0)", res.Mode, res.Sockets, st.RecordsCommitted, st.BytesCommitted, st.BytesEmitted)
				}
				if e.leftovers != nil {
					if l := e.leftovers(t); len(l) > 0 {
						t.Fatalf("containers left behind: %v", l)
					}
				}
				if e.volumes != nil {
					if v := e.volumes(t); len(v) > 0 {
						t.Fatalf("volumes left behind: %v", v)
					}
				}
			})
		}
	})
}
