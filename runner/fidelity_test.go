package runner_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/docker"
	"github.com/ferrysync/ferry/runner/runnertest"
)

// The fidelity test (issue 12): the same source into destination-jsonl in
// every mode gives every record the same fields with the same values as
// stdio mode, and the same text but where docs/fidelity.md says a mode
// cannot carry it.

// fidelityTyped declares a property of every Airbyte type, in an order
// that is neither sorted nor the order of every record.
const fidelityTyped = `{"type":"object","properties":{
 "id":{"type":"integer"},
 "name":{"type":["null","string"]},
 "big":{"type":"integer"},
 "price":{"type":"number"},
 "ratio":{"type":["null","number"]},
 "active":{"type":"boolean"},
 "born":{"type":"string","format":"date"},
 "at":{"type":"string","format":"date-time","airbyte_type":"timestamp_with_timezone"},
 "local":{"type":"string","format":"date-time","airbyte_type":"timestamp_without_timezone"},
 "opens":{"type":"string","format":"time","airbyte_type":"time_with_timezone"},
 "wall":{"type":"string","format":"time","airbyte_type":"time_without_timezone"},
 "tags":{"type":"array","items":{"type":"string"}},
 "attrs":{"type":"object","properties":{"k":{"type":"string"}}},
 "either":{"type":["string","integer"]},
 "blob":{"$ref":"WellKnownTypes.json#/definitions/BinaryData"}}}`

// fidelityLoose declares no properties: in PROTOBUF every field is
// outside the schema.
const fidelityLoose = `{"type":"object"}`

// fidelityRecords are the data of the scripted source's records, one per
// line, emitted byte for byte on both streams.
var fidelityRecords = []string{
	// Every type, canonical text.
	`{"id":1,"name":"Ann","big":9223372036854775807,"price":1.5,"ratio":0.1,"active":true,"born":"2021-03-04","at":"2021-01-01T10:00:00Z","local":"2021-01-01T10:00:00","opens":"08:30:00+02:00","wall":"23:59:59.5","tags":["a","b"],"attrs":{"k":"v"},"either":"x","blob":"aGVsbG8="}`,
	// Nulls and absent fields; faker's +00:00; 1.0.
	`{"id":2,"name":null,"price":1.0,"ratio":null,"active":false,"at":"2021-01-01T10:00:00+00:00","tags":[],"attrs":{}}`,
	// Integers and decimals beyond 64 bits and a double; other text forms.
	`{"id":3,"big":123456789012345678901234567890,"price":123456789012345678901234567890.123456789,"ratio":1E3,"at":"2021-06-30T23:59:59.123456789-07:00","local":"1969-07-20 20:17:40","opens":"10:00Z","wall":"00:00"}`,
	// Unicode and escapes, nested.
	`{"id":4,"name":"é中😀 \" \\ \n\t\u0001","tags":["\u00e9","\/"],"attrs":{"nested":{"deep":[1,{"x":null},1.0]}},"either":7}`,
	// Escapes another encoder writes; -0.0; a double's shortest form.
	`{"id":5,"name":"\u00e9\u003c\/","price":-0.0,"ratio":0.30000000000000004}`,
	// Empty string, fields outside the schema (a null one among them).
	`{"id":6,"name":"","extra":"outside","more":{"a":[1,2]},"nul":null}`,
	// A field outside the schema first, members in another order.
	`{"outside_first":true,"price":2,"id":7}`,
	`{"at":"2021-01-01 10:00:00.500+0000","id":8,"born":"0001-01-01","local":"9999-12-31T23:59:59.999999999"}`,
	// Values not of their property's type.
	`{"id":9,"at":"not a timestamp","price":"1.5","active":"yes","born":"2021-02-30","big":1.5}`,
	`{}`,
	// Whitespace between members: text PROTOBUF does not carry.
	`{"id": 11, "name": "spaced", "attrs": { "k" : "v" }}`,
	`{"id":12,"price":1e-7,"ratio":-1.7976931348623157e308,"big":-9223372036854775809}`,
	`{"id":13,"at":"2021-01-01T00:00:00-00:00","opens":"12:00:00-0530","wall":"12:00:00.000","born":"2024-02-29"}`,
	`{"id":14,"name":"\ud83d\ude00","tags":null,"attrs":null,"either":null,"blob":null}`,
	`{"id":15,"name":"\ud800 lone surrogate"}`,
}

// fidelityModes are the data channels compared with stdio.
var fidelityModes = []runner.Mode{
	{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2},
	{Mode: protocol.ModeSocket, Format: protocol.FormatProtobuf, Sockets: 2},
	{Mode: protocol.ModeBridged, Format: protocol.FormatJSONL, Sockets: 2},
	{Mode: protocol.ModeBridged, Format: protocol.FormatProtobuf, Sockets: 2},
	// Bridged mode through the relay container (issue 13), forced: on this
	// host the direct path would work.
	{Mode: protocol.ModeBridged, Format: protocol.FormatJSONL, Sockets: 2, Bridge: runner.BridgeRelay},
	{Mode: protocol.ModeBridged, Format: protocol.FormatProtobuf, Sockets: 3, Bridge: runner.BridgeRelay},
}

// TestE2EFidelity runs the scripted source (records of every type and
// text form above) and source-faker into destination-jsonl on Docker, in
// stdio mode and in every mode above, and compares every record with the
// stdio run's: the same fields with the same values (numbers as exact
// decimals), and the same text except where docs/fidelity.md says a mode
// cannot carry it.
func TestE2EFidelity(t *testing.T) {
	c := runnertest.RequireDocker(t)
	instance := fmt.Sprintf("e2e-fidelity-%d", time.Now().UnixNano())
	rt, err := docker.New(c, docker.Options{InstanceID: instance})
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]string{}
	for _, n := range []string{"source-faker", "destination-jsonl", "connector-scripted"} {
		images[n] = runnertest.BuildImage(t, n, "./connectors/"+n)
	}
	images["relay"] = runnertest.BuildImage(t, "relay", runnertest.RelayPkg)
	lines := strings.Join(fidelityRecords, "\n")
	scriptedConfig, _ := json.Marshal(map[string]any{"streams": []string{"typed", "loose"},
		"source": map[string]any{"data_lines": lines, "state_every": 4}})
	scripted := &protocol.ConfiguredCatalog{}
	for _, s := range []struct{ name, schema string }{{"typed", fidelityTyped}, {"loose", fidelityLoose}} {
		scripted.Streams = append(scripted.Streams, protocol.ConfiguredStream{
			Stream:   protocol.Stream{Name: s.name, JSONSchema: json.RawMessage(s.schema), SupportedSyncModes: []string{protocol.SyncFullRefresh}},
			SyncMode: protocol.SyncFullRefresh, DestinationSyncMode: protocol.DestAppend})
	}
	fakerConfig := `{"count":1500,"seed":5,"records_per_slice":400}`
	disc, err := runner.Discover(t.Context(), rt, runner.ConnectorSpec{Name: instance + "-discover", Image: images["source-faker"],
		Role: runner.RoleConnector, StopTimeout: 5 * time.Second}, []byte(fakerConfig))
	if err != nil {
		t.Fatalf("discover faker: %v", err)
	}
	faker := &protocol.ConfiguredCatalog{}
	for _, s := range disc.Catalog.Streams {
		faker.Streams = append(faker.Streams, protocol.ConfiguredStream{Stream: s, SyncMode: protocol.SyncFullRefresh, DestinationSyncMode: protocol.DestAppend})
	}

	var mu sync.Mutex
	var table []string
	for job, src := range []struct {
		name, image, config string
		catalog             *protocol.ConfiguredCatalog
		// warn: the stream whose PROTOBUF records carry fields outside
		// the schema, which the attempt log must say.
		warn string
	}{
		{"scripted", images["connector-scripted"], string(scriptedConfig), scripted, "loose"},
		{"faker", images["source-faker"], fakerConfig, faker, ""},
	} {
		t.Run(src.name, func(t *testing.T) {
			t.Parallel()
			// Its own job id: the sources run in parallel, and an
			// attempt's socket volume is named after its job.
			f := fidelitySync{rt: rt, instance: instance, job: int64(job + 1), source: src.image, dest: images["destination-jsonl"],
				relay: images["relay"], config: src.config, catalog: src.catalog}
			want, _ := f.run(t, runner.Mode{Mode: protocol.ModeStdio})
			// Stdio mode through the pump of Kubernetes pods: the same
			// connectors, the pump in the test's process.
			pumped := f
			pumped.rt = runnertest.Pumped{Runtime: rt}
			for i, m := range append(slices.Clip(fidelityModes), runner.Mode{Mode: protocol.ModeStdio}) {
				run := f.run
				name := m.Mode + " " + m.Format
				if i == len(fidelityModes) {
					run, name = pumped.run, "stdio, in-pod pump"
				}
				got, log := run(t, m)
				if m.Bridge != "" {
					name += " " + m.Bridge
				}
				r := compareFidelity(t, name, want, got)
				mu.Lock()
				table = append(table, fmt.Sprintf("%-8s | %-22s | %5d | %d | %d", src.name, name, r.records, r.valueDiffs, r.textDiffs))
				mu.Unlock()
				protobuf := m.Format == protocol.FormatProtobuf
				if r.textDiffs > 0 && !protobuf {
					t.Errorf("%s: %d records with another text, want none", name, r.textDiffs)
				}
				if warned := strings.Contains(log, "Ferry's extension fields") && strings.Contains(log, "stream="+src.warn); src.warn != "" && warned != protobuf {
					t.Errorf("%s: the attempt log says fields outside the schema travel in Ferry's extension: %t, want %t", name, warned, protobuf)
				}
			}
		})
	}
	t.Cleanup(func() {
		sort.Strings(table)
		t.Logf("fidelity against stdio:\nsource   | mode                   | records | value differences | text differences (documented)\n%s", strings.Join(table, "\n"))
	})
}

// fidelitySync runs one source into destination-jsonl.
type fidelitySync struct {
	rt                                    runner.Runtime
	instance, source, dest, relay, config string
	job                                   int64
	catalog                               *protocol.ConfiguredCatalog
}

// run syncs in mode m and returns every record's data, as the text
// destination-jsonl wrote, per stream, and the attempt log.
func (f *fidelitySync) run(t *testing.T, m runner.Mode) (map[string][][]byte, string) {
	t.Helper()
	root := t.TempDir()
	os.Chmod(root, 0o777)
	var log bytes.Buffer
	cp := &runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}
	res, err := runner.Sync(context.Background(), f.rt, runner.Config{
		InstanceID: f.instance, JobID: f.job, Attempt: 1, Mode: m, RelayImage: f.relay,
		Source:      runner.Connector{Image: f.source, Config: json.RawMessage(f.config)},
		Destination: runner.Connector{Image: f.dest, Config: json.RawMessage(`{"destination_path":"/local/out"}`)},
		Catalog:     f.catalog, Checkpointer: cp, LocalRoot: root, Log: &lockedWriter{w: &log},
		Timeouts: runner.Timeouts{SocketConnect: time.Minute},
	})
	if err != nil {
		t.Fatalf("%s %s sync: %v\n%s", m.Mode, m.Format, err, log.String())
	}
	if res.Mode != m.Mode {
		t.Fatalf("ran in %s, want %s", res.Mode, m.Mode)
	}
	if m.Bridge != "" && res.Bridge != m.Bridge {
		t.Fatalf("bridged through %q, want %q", res.Bridge, m.Bridge)
	}
	if m.Bridge == runner.BridgeRelay && !strings.Contains(log.String(), "ferry-relay: every socket ended") {
		t.Errorf("the attempt log lacks the relay's end:\n%s", log.String())
	}
	out := map[string][][]byte{}
	for _, s := range f.catalog.Streams {
		out[s.Stream.Name] = jsonlData(t, filepath.Join(root, "out", s.Stream.Name+".jsonl"))
	}
	return out, log.String()
}

// lockedWriter serialises the attempt log's writers.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// jsonlData returns the _airbyte_data text of every line of a
// destination-jsonl file, exactly as written.
func jsonlData(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Data json.RawMessage `json:"_airbyte_data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Data == nil {
			t.Fatalf("%s: line %q: %v", path, sc.Text(), err)
		}
		out = append(out, line.Data)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// fidelityResult counts one mode's comparison with stdio.
type fidelityResult struct {
	records    int // records compared
	valueDiffs int // stdio records no record of the mode matches in fields and values: never allowed
	textDiffs  int // records with the same values but another text
}

// compareFidelity matches every record of got with one of want by its
// values, and checks that they are the same, and that their text is the
// same or differs only as docs/fidelity.md lists for PROTOBUF (whitespace
// between data members).
func compareFidelity(t *testing.T, mode string, want, got map[string][][]byte) fidelityResult {
	t.Helper()
	var r fidelityResult
	for stream, records := range want {
		if len(got[stream]) != len(records) {
			t.Errorf("%s: stream %s has %d records, stdio %d", mode, stream, len(got[stream]), len(records))
		}
		// Socket modes read partitions in parallel: match by value.
		pending := map[string][][]byte{}
		for _, g := range got[stream] {
			k := valueKey(t, g)
			pending[k] = append(pending[k], g)
		}
		for _, w := range records {
			r.records++
			k := valueKey(t, w)
			if len(pending[k]) == 0 {
				r.valueDiffs++
				t.Errorf("%s: stream %s: no record with the values of the stdio record\n%s", mode, stream, w)
				continue
			}
			g := pending[k][0]
			pending[k] = pending[k][1:]
			switch {
			case bytes.Equal(g, w):
			case bytes.Equal(g, spaceless(t, w)):
				r.textDiffs++
			default:
				r.textDiffs++
				t.Errorf("%s: stream %s: text differs beyond what docs/fidelity.md lists:\nstdio %s\n got  %s", mode, stream, w, g)
			}
		}
		for _, left := range pending {
			for _, g := range left {
				t.Errorf("%s: stream %s: a record with no match in stdio: %s", mode, stream, g)
			}
		}
	}
	return r
}

// valueKey renders a data object's fields and values canonically: members
// sorted, null kept apart from absent, numbers as exact decimals (never
// through float64), strings as they are.
func valueKey(t *testing.T, data []byte) string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("data %s: %v", data, err)
	}
	var b strings.Builder
	canonical(&b, v)
	return b.String()
}

func canonical(b *strings.Builder, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := slices.Sorted(maps.Keys(v))
		b.WriteByte('{')
		for _, k := range keys {
			fmt.Fprintf(b, "%q:", k)
			canonical(b, v[k])
			b.WriteByte(',')
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for _, e := range v {
			canonical(b, e)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case json.Number:
		r, ok := new(big.Rat).SetString(string(v))
		if !ok {
			fmt.Fprintf(b, "bad number %s", v)
			return
		}
		b.WriteString("n" + r.RatString())
	case string:
		fmt.Fprintf(b, "%q", v)
	default:
		fmt.Fprintf(b, "%v", v)
	}
}

// spaceless writes a data object's members without the whitespace
// between them, each key and value kept as written: the one text
// difference PROTOBUF makes for these records (docs/fidelity.md).
func spaceless(t *testing.T, data []byte) []byte {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	out := []byte{'{'}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		var val json.RawMessage
		if err := d.Decode(&val); err != nil {
			t.Fatal(err)
		}
		key, _ := json.Marshal(k)
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(append(append(out, key...), ':'), val...)
	}
	return append(out, '}')
}
