package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/cdk/cdktest"
	"github.com/ferrysync/ferry/protocol"
)

// run runs the source in-process and returns its stdout and exit code.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	code := cdk.Run(context.Background(), source{}, args, cdk.Stdio{In: strings.NewReader(""), Out: &out, Err: io.Discard})
	return out.String(), code
}

func file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// catalog configures the given streams in one sync mode.
func catalog(t *testing.T, mode string, streams ...string) string {
	t.Helper()
	var cat protocol.ConfiguredCatalog
	for _, s := range streams {
		cat.Streams = append(cat.Streams, protocol.ConfiguredStream{
			Stream:   protocol.Stream{Name: s, JSONSchema: json.RawMessage(`{}`), SupportedSyncModes: []string{"full_refresh", "incremental"}, SourceDefinedCursor: true, DefaultCursorField: []string{"updated_at"}},
			SyncMode: mode, DestinationSyncMode: protocol.DestAppend})
	}
	b, _ := json.Marshal(cat)
	return file(t, "catalog.json", string(b))
}

func records(t *testing.T, stdout string) []*protocol.Record {
	t.Helper()
	var out []*protocol.Record
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		m, err := protocol.Decode([]byte(line))
		if err != nil {
			t.Fatalf("bad line %v: %s", err, line)
		}
		if m.Type == protocol.TypeRecord {
			out = append(out, m.Record)
		}
	}
	return out
}

// TestSpecCheckDiscoverValidate checks the three commands against the
// official protocol schema.
func TestSpecCheckDiscoverValidate(t *testing.T) {
	cfg := file(t, "config.json", `{"count": 10, "seed": 1}`)
	for _, args := range [][]string{{"spec"}, {"check", "--config", cfg}, {"discover", "--config", cfg}} {
		out, code := run(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit code %d, want 0: %s", args[0], code, out)
		}
		cdktest.ValidateOutput(t, []byte(out))
	}
	out, _ := run(t, "check", "--config", file(t, "bad.json", `{"seed": 1}`))
	if !strings.Contains(out, `"FAILED"`) || !strings.Contains(out, `field \"count\" is required`) {
		t.Errorf("check without count: got %s, want FAILED naming count", out)
	}
}

// TestRecordsMatchSchemas validates generated records of every stream
// against the stream's own JSON schema, and checks determinism.
func TestRecordsMatchSchemas(t *testing.T) {
	cfg := file(t, "config.json", `{"count": 300, "seed": 7, "records_per_slice": 100}`)
	cat := catalog(t, protocol.SyncFullRefresh, "users", "products", "purchases")
	out, code := run(t, "read", "--config", cfg, "--catalog", cat)
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, out)
	}
	cdktest.ValidateOutput(t, []byte(out))
	schemas := map[string]*jsonschema.Schema{}
	var streams []cdk.Stream
	streams, _ = source{}.Streams(context.Background(), &cdk.Request{Config: json.RawMessage(`{"count":1,"seed":1}`)})
	for _, s := range streams {
		d := s.Describe()
		c := jsonschema.NewCompiler()
		doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(d.JSONSchema))
		if err := c.AddResource(d.Name+".json", doc); err != nil {
			t.Fatal(err)
		}
		schemas[d.Name] = c.MustCompile(d.Name + ".json")
	}
	counts := map[string]int{}
	nulls := 0
	for _, r := range records(t, out) {
		counts[r.Stream]++
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatalf("record is not JSON: %v: %s", err, r.Data)
		}
		if err := schemas[r.Stream].Validate(doc); err != nil {
			t.Errorf("%s record does not match its schema: %v\n%s", r.Stream, err, r.Data)
		}
		nulls += strings.Count(string(r.Data), "null")
	}
	if diff := cmp.Diff(map[string]int{"users": 300, "products": 100, "purchases": 300}, counts); diff != "" {
		t.Errorf("record counts mismatch (-want +got):\n%s", diff)
	}
	if nulls == 0 {
		t.Errorf("got no null values, want some")
	}
	again, _ := run(t, "read", "--config", cfg, "--catalog", cat)
	a, b := records(t, out), records(t, again)
	for i := range a {
		if !bytes.Equal(a[i].Data, b[i].Data) {
			t.Fatalf("record %d differs between runs with the same seed:\n%s\n%s", i, a[i].Data, b[i].Data)
		}
	}
}

// TestIncrementalResume reads in two parts through the state and gets
// exactly the records of one full read, with no gap and no repeat.
func TestIncrementalResume(t *testing.T) {
	cat := catalog(t, protocol.SyncIncremental, "users")
	full, _ := run(t, "read", "--config", file(t, "c.json", `{"count": 250, "seed": 3, "records_per_slice": 50}`), "--catalog", cat)
	part, _ := run(t, "read", "--config", file(t, "c.json", `{"count": 120, "seed": 3, "records_per_slice": 50}`), "--catalog", cat)
	var last *protocol.State
	for _, line := range strings.Split(strings.TrimSpace(part), "\n") {
		if m, _ := protocol.Decode([]byte(line)); m != nil && m.Type == protocol.TypeState {
			last = m.State
		}
	}
	state, _ := json.Marshal([]*protocol.State{last.Clean()})
	rest, _ := run(t, "read", "--config", file(t, "c.json", `{"count": 250, "seed": 3, "records_per_slice": 50}`), "--catalog", cat, "--state", file(t, "s.json", string(state)))
	want := records(t, full)
	got := append(records(t, part), records(t, rest)...)
	if len(got) != len(want) {
		t.Fatalf("got %d records in two parts, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(want[i].Data, got[i].Data) {
			t.Fatalf("record %d differs:\n%s\n%s", i, want[i].Data, got[i].Data)
		}
	}
	// Nothing new: the state comes back unchanged and no record is sent.
	again, _ := run(t, "read", "--config", file(t, "c.json", `{"count": 120, "seed": 3}`), "--catalog", cat, "--state", file(t, "s.json", string(state)))
	if n := len(records(t, again)); n != 0 || !strings.Contains(again, `"updated_at":"2021-01-01T00:02:00+00:00"`) {
		t.Errorf("read past the end: got %d records and %s, want none and the same state", n, again)
	}
}

// TestRecordBytes pads records to the requested size.
func TestRecordBytes(t *testing.T) {
	out, _ := run(t, "read", "--config", file(t, "c.json", `{"count": 5, "seed": 1, "record_bytes": 2000}`), "--catalog", catalog(t, protocol.SyncFullRefresh, "purchases"))
	for _, r := range records(t, out) {
		if n := len(r.Data); n < 1990 || n > 2010 {
			t.Errorf("record of %d bytes, want about 2000", n)
		}
	}
}

// TestAppendTime agrees with the standard library on many instants.
func TestAppendTime(t *testing.T) {
	for _, sec := range []int64{0, 951782400, 1582934400, 1609459199, 4102444800, -86400, 1700000000} {
		want := time.Unix(sec, 0).UTC().Format("2006-01-02T15:04:05+00:00")
		if got := string(appendTime(nil, sec)); got != want {
			t.Errorf("appendTime(%d): got %s, want %s", sec, got, want)
		}
	}
	// Around both ends of the date table, and every day of a few years.
	for _, day := range []int64{dateFirst - 1, dateFirst, dateFirst + dateCount - 1, dateFirst + dateCount} {
		for _, s := range []int64{0, 1, 3599, 43200, 86399} {
			sec := day*86400 + s
			want := time.Unix(sec, 0).UTC().Format("2006-01-02T15:04:05+00:00")
			if got := string(appendTime(nil, sec)); got != want {
				t.Fatalf("appendTime(%d): got %s, want %s", sec, got, want)
			}
		}
	}
	for sec := int64(946684800 - 86400); sec < 1900000000; sec += 86400 + 3607 {
		want := time.Unix(sec, 0).UTC().Format("2006-01-02T15:04:05+00:00")
		if got := string(appendTime(nil, sec)); got != want {
			t.Fatalf("appendTime(%d): got %s, want %s", sec, got, want)
		}
	}
	for sec := int64(0); sec < 5e9; sec += 7919 * 3607 {
		want := time.Unix(sec, 0).UTC().Format("2006-01-02T15:04:05+00:00")
		if got := string(appendTime(nil, sec)); got != want {
			t.Fatalf("appendTime(%d): got %s, want %s", sec, got, want)
		}
	}
}

// BenchmarkUsers measures the generator and the kit's record path.
func BenchmarkUsers(b *testing.B) {
	c := &config{Count: int64(b.N), Seed: 1, RecordsPerSlice: 1000}
	var buf []byte
	var total int64
	for i := 0; i < b.N; i++ {
		r := newRNG(c.Seed, 1, int64(i))
		buf = appendUser(buf[:0], c, &r, int64(i), baseTime+int64(i))
		total += int64(len(buf))
	}
	b.SetBytes(total / int64(max(b.N, 1)))
}
