package cdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// useEnv makes the kit see env instead of the process environment until
// the test ends. Both roles of an in-process pair read the same settings,
// as Ferry gives both containers identical DATA_CHANNEL_* values.
func useEnv(t testing.TB, env map[string]string) {
	old := getenv
	getenv = func(k string) string { return env[k] }
	t.Cleanup(func() { getenv = old })
}

// socketEnv selects socket mode with n sockets in a fresh directory and
// returns their paths. extra holds more variables, as key, value pairs.
func socketEnv(t testing.TB, format string, n int, extra ...string) []string {
	dir := t.TempDir()
	paths := make([]string, n)
	for i := range paths {
		paths[i] = filepath.Join(dir, "s"+strconv.Itoa(i+1)+".sock")
	}
	env := map[string]string{EnvMedium: MediumSocket, EnvFormat: format, EnvSocketPaths: strings.Join(paths, ",")}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	useEnv(t, env)
	return paths
}

// runRaw runs one command in-process with the given stdio.
func runRaw(c Connector, stdio Stdio, args ...string) int {
	return run(context.Background(), c, args, stdio, fixedNow)
}

// parseResult decodes a command's stdout.
func parseResult(t testing.TB, code int, stdout, stderr string) result {
	t.Helper()
	res := result{code: code, stdout: stdout, stderr: stderr}
	for _, line := range strings.Split(strings.TrimRight(stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		m, err := protocol.Decode([]byte(line))
		if err != nil {
			t.Fatalf("stdout line does not decode: %v: %s", err, line)
		}
		res.msgs = append(res.msgs, m)
	}
	return res
}

// runSocketPair runs a read of src and a write of dst concurrently, in
// socket mode as set up by socketEnv, and returns both results.
func runSocketPair(t testing.TB, src Connector, srcArgs []string, dst Connector, dstArgs []string) (result, result) {
	t.Helper()
	var srcOut, srcErr, dstOut, dstErr bytes.Buffer
	var srcCode int
	var wg sync.WaitGroup
	wg.Go(func() {
		srcCode = runRaw(src, Stdio{In: strings.NewReader(""), Out: &srcOut, Err: &srcErr}, srcArgs...)
	})
	dstCode := runRaw(dst, Stdio{In: strings.NewReader(""), Out: &dstOut, Err: &dstErr}, dstArgs...)
	wg.Wait()
	return parseResult(t, srcCode, srcOut.String(), srcErr.String()), parseResult(t, dstCode, dstOut.String(), dstErr.String())
}

// genSchema describes genRecord's records.
const genSchema = `{"type":"object","properties":{
 "id":{"type":"integer"},"name":{"type":"string"},"email":{"type":"string"},
 "score":{"type":"number"},"active":{"type":"boolean"},"note":{"type":["null","string"]},
 "updated_at":{"type":"string","format":"date-time","airbyte_type":"timestamp_with_timezone"},
 "tags":{"type":"array","items":{"type":"string"}}}}`

// genRecord appends a faker-like record of about 200 bytes whose values
// survive a protobuf round trip unchanged (timestamps in canonical form,
// members in schema order, no nulls).
func genRecord(b []byte, stream string, id int64) []byte {
	b = append(b, `{"active":`...)
	b = strconv.AppendBool(b, id%3 == 0)
	b = append(b, `,"email":"user.`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `@example.com","id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"name":"`...)
	b = append(b, stream...)
	b = append(b, ` person number `...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `","note":"lorem ipsum dolor sit amet","score":`...)
	b = strconv.AppendInt(b, id%1000, 10)
	b = append(b, `.25,"tags":["a","b"],"updated_at":"2024-05-01T12:`...)
	b = append(b, byte('0'+id/10%6), byte('0'+id%10))
	return append(b, `:00Z"}`...)
}

// genStream emits n genRecords and checkpoints every `every` records. With
// parts > 0 it is Partitioned into up to parts slices of the id range,
// each checkpointing its own progress.
type genStream struct {
	name  string
	ns    string
	n     int64
	every int64
}

func (s *genStream) Describe() protocol.Stream {
	return protocol.Stream{Name: s.name, Namespace: s.ns, JSONSchema: json.RawMessage(genSchema),
		SupportedSyncModes:  []string{protocol.SyncFullRefresh, protocol.SyncIncremental},
		SourceDefinedCursor: true, DefaultCursorField: []string{"id"}, SourceDefinedPrimaryKey: [][]string{{"id"}}}
}

func (s *genStream) Read(ctx context.Context, req *ReadRequest, out *Emitter) error {
	return s.readRange(ctx, out, 1, s.n)
}

func (s *genStream) readRange(ctx context.Context, out *Emitter, lo, hi int64) error {
	var buf []byte
	for id := lo; id <= hi; id++ {
		buf = genRecord(buf[:0], s.name, id)
		if err := out.Record(buf); err != nil {
			return err
		}
		if id%s.every == 0 || id == hi {
			if err := out.Checkpoint(json.RawMessage(fmt.Sprintf(`{"upto":%d}`, id))); err != nil {
				return err
			}
		}
	}
	return nil
}

// partGenStream is a genStream split into slices.
type partGenStream struct{ genStream }

func (s *partGenStream) Partitions(ctx context.Context, req *ReadRequest, n int) ([]Partition, error) {
	k := min(int64(n), max(1, s.n/s.every))
	parts := make([]Partition, k)
	for i := range k {
		lo, hi := 1+s.n*i/k, s.n*(i+1)/k
		parts[i] = PartitionFunc(func(ctx context.Context, out *Emitter) error { return s.readRange(ctx, out, lo, hi) })
	}
	return parts, nil
}

// nullDest counts records and keeps nothing.
type nullDest struct{ records atomic.Int64 }

func (d *nullDest) Spec() *protocol.Spec                          { return testSpec }
func (d *nullDest) Check(ctx context.Context, req *Request) error { return nil }
func (d *nullDest) Open(ctx context.Context, req *WriteRequest) (Writer, error) {
	return d, nil
}
func (d *nullDest) OpenStream(ctx context.Context, s *protocol.ConfiguredStream) (StreamWriter, error) {
	return d, nil
}
func (d *nullDest) Close(ctx context.Context) error { return nil }
func (d *nullDest) Write(ctx context.Context, batch []Record) error {
	d.records.Add(int64(len(batch)))
	return nil
}
func (d *nullDest) Flush(ctx context.Context) error                 { return nil }
func (d *nullDest) Finish(ctx context.Context, complete bool) error { return nil }

// genCatalog writes a configured catalog of the given gen streams.
func genCatalog(t testing.TB, names ...string) string {
	t.Helper()
	var streams []Stream
	for _, n := range names {
		streams = append(streams, &genStream{name: n})
	}
	return catalogOf(t, streams...)
}

// catalogOf writes a full-refresh append catalog of the streams as they
// describe themselves.
func catalogOf(t testing.TB, streams ...Stream) string {
	t.Helper()
	cat := protocol.ConfiguredCatalog{}
	for _, s := range streams {
		cat.Streams = append(cat.Streams, protocol.ConfiguredStream{Stream: s.Describe(),
			SyncMode: protocol.SyncFullRefresh, DestinationSyncMode: protocol.DestAppend})
	}
	b, _ := json.Marshal(cat)
	return writeFileTB(t, "catalog.json", string(b))
}

// writeFileTB is writeFile for tests and benchmarks.
func writeFileTB(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
