package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/cdk/cdktest"
	"github.com/ferrysync/ferry/protocol"
)

// pairRun is one faker -> null sync.
type pairRun struct {
	records, bytes int64         // committed, from the last ack of each stream
	sent, acked    int           // states
	wall, cpu      time.Duration // elapsed; user+system of both processes
}

// fakerCatalog discovers faker's streams (their schemas place protobuf
// values) and configures them all.
func fakerCatalog(t testing.TB, faker string) string {
	t.Helper()
	out, err := exec.Command(faker, "discover", "--config", file(t, "d.json", `{"count":1}`)).Output()
	if err != nil {
		t.Fatal(err)
	}
	var cat protocol.ConfiguredCatalog
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if m, err := protocol.Decode([]byte(line)); err == nil && m.Catalog != nil {
			for _, s := range m.Catalog.Streams {
				cat.Streams = append(cat.Streams, protocol.ConfiguredStream{Stream: s,
					SyncMode: protocol.SyncIncremental, CursorField: []string{"updated_at"}, DestinationSyncMode: protocol.DestAppend})
			}
		}
	}
	b, _ := json.Marshal(cat)
	return file(t, "catalog.json", string(b))
}

// syncFakerNull runs faker into null: through a plain pipe when n is 0,
// else over n sockets in format.
func syncFakerNull(t testing.TB, cfg, cat, format string, n int) pairRun {
	t.Helper()
	faker := cdktest.Build(t, "github.com/ferrysync/ferry/connectors/source-faker")
	null := cdktest.Build(t, "github.com/ferrysync/ferry/connectors/destination-null")
	src := exec.Command(faker, "read", "--config", cfg, "--catalog", cat)
	dst := exec.Command(null, "write", "--config", file(t, "null.json", `{}`), "--catalog", cat)
	var srcOut, dstOut bytes.Buffer
	var sent stateCounter
	dst.Stdout = &dstOut
	if n == 0 {
		pipe, err := src.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		dst.Stdin = io.TeeReader(pipe, &sent)
	} else {
		dir := t.TempDir()
		var paths []string
		for i := 1; i <= n; i++ {
			paths = append(paths, filepath.Join(dir, fmt.Sprintf("s%d.sock", i)))
		}
		env := append(os.Environ(), cdk.EnvMedium+"=SOCKET", cdk.EnvFormat+"="+format, cdk.EnvSocketPaths+"="+strings.Join(paths, ","))
		src.Env, dst.Env = env, env
		src.Stdout = &srcOut
	}
	start := time.Now()
	if err := src.Start(); err != nil {
		t.Fatal(err)
	}
	if err := dst.Run(); err != nil {
		t.Fatalf("destination: %v: %.1000s", err, dstOut.String())
	}
	if err := src.Wait(); err != nil {
		t.Fatalf("source: %v", err)
	}
	r := pairRun{wall: time.Since(start)}
	for _, p := range []*os.ProcessState{src.ProcessState, dst.ProcessState} {
		r.cpu += p.UserTime() + p.SystemTime()
	}
	r.sent = sent.n
	if n > 0 {
		r.sent = len(statesOf(t, srcOut.String()))
	}
	last := map[string]*protocol.State{}
	for _, st := range statesOf(t, dstOut.String()) {
		last[st.Stream.StreamDescriptor.Name] = st
		r.acked++
	}
	for _, st := range last {
		var recs, bytes int64
		json.Unmarshal(st.Extra["committedRecordsCount"], &recs)
		json.Unmarshal(st.Extra["committedBytesCount"], &bytes)
		r.records += recs
		r.bytes += bytes
	}
	return r
}

// stateCounter counts the STATE lines written through it without keeping
// them: in stdio mode source stdout is every record.
type stateCounter struct {
	n    int
	head []byte // the start of the current line
	skip bool   // the current line is decided
}

func (c *stateCounter) Write(p []byte) (int, error) {
	const prefix = `{"type":"STATE"`
	n := len(p)
	for len(p) > 0 {
		if c.skip {
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				break
			}
			p, c.head, c.skip = p[i+1:], c.head[:0], false
			continue
		}
		k := min(len(prefix)-len(c.head), len(p))
		if i := bytes.IndexByte(p[:k], '\n'); i >= 0 {
			p, c.head = p[i+1:], c.head[:0]
			continue
		}
		c.head, p = append(c.head, p[:k]...), p[k:]
		if len(c.head) == len(prefix) {
			if string(c.head) == prefix {
				c.n++
			}
			c.skip = true
		}
	}
	return n, nil
}

// TestFakerToNullSockets: over 2 sockets in both formats every state
// comes back and every record is committed.
func TestFakerToNullSockets(t *testing.T) {
	faker := cdktest.Build(t, "github.com/ferrysync/ferry/connectors/source-faker")
	cat := fakerCatalog(t, faker)
	cfg := file(t, "faker.json", `{"count": 20000, "seed": 5, "records_per_slice": 1000}`)
	for _, format := range []string{cdk.FormatJSONL, cdk.FormatProtobuf} {
		r := syncFakerNull(t, cfg, cat, format, 2)
		if r.sent == 0 || r.acked != r.sent || r.records != 40100 {
			t.Errorf("%s: %d acks for %d states, %d records committed; want all states and 40100 records", format, r.acked, r.sent, r.records)
		}
	}
}
