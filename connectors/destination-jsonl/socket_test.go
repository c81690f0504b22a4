package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/cdk/cdktest"
	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

const (
	fakerPkg = "github.com/ferrysync/ferry/connectors/source-faker"
	jsonlPkg = "github.com/ferrysync/ferry/connectors/destination-jsonl"
)

// fakerCatalog discovers faker's streams and configures them all for a
// full refresh that overwrites, which finalizes each file only on its
// stream's COMPLETE status.
func fakerCatalog(t testing.TB, faker, cfg string) (string, map[string]*protobuf.RecordSchema) {
	t.Helper()
	out, err := exec.Command(faker, "discover", "--config", cfg).Output()
	if err != nil {
		t.Fatal(err)
	}
	var cat protocol.ConfiguredCatalog
	schemas := map[string]*protobuf.RecordSchema{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		m, err := protocol.Decode([]byte(line))
		if err != nil || m.Catalog == nil {
			continue
		}
		for _, s := range m.Catalog.Streams {
			cat.Streams = append(cat.Streams, protocol.ConfiguredStream{Stream: s,
				SyncMode: protocol.SyncFullRefresh, DestinationSyncMode: protocol.DestOverwrite})
			if schemas[s.Name], err = protobuf.NewRecordSchema(s.JSONSchema); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, _ := json.Marshal(cat)
	p := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, schemas
}

// fakerSync runs faker into destination-jsonl: through a pipe when n is
// 0, else over n sockets in format. It returns each stream's _airbyte_data
// values, sorted, and the number of states sent and acknowledged.
func fakerSync(t *testing.T, cat, format string, n int) (files map[string][]string, sent, acked int) {
	t.Helper()
	faker, jsonl := cdktest.Build(t, fakerPkg), cdktest.Build(t, jsonlPkg)
	root, dir := t.TempDir(), t.TempDir()
	fcfg := filepath.Join(dir, "faker.json")
	dcfg := filepath.Join(dir, "dest.json")
	os.WriteFile(fcfg, []byte(`{"count": 3000, "seed": 7, "records_per_slice": 250}`), 0o600)
	os.WriteFile(dcfg, []byte(`{"destination_path":"/local/out"}`), 0o600)
	env := append(os.Environ(), cdk.LocalRootEnv+"="+root)
	if n > 0 {
		var paths []string
		for i := 1; i <= n; i++ {
			paths = append(paths, filepath.Join(dir, fmt.Sprintf("s%d.sock", i)))
		}
		env = append(env, cdk.EnvMedium+"=SOCKET", cdk.EnvFormat+"="+format, cdk.EnvSocketPaths+"="+strings.Join(paths, ","))
	}
	src := exec.Command(faker, "read", "--config", fcfg, "--catalog", cat)
	dst := exec.Command(jsonl, "write", "--config", dcfg, "--catalog", cat)
	src.Env, dst.Env = env, env
	var srcOut, dstOut bytes.Buffer
	dst.Stdout = &dstOut
	if n == 0 {
		pipe, err := src.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		dst.Stdin = io.TeeReader(pipe, &srcOut)
	} else {
		src.Stdout = &srcOut
	}
	if err := src.Start(); err != nil {
		t.Fatal(err)
	}
	if err := dst.Run(); err != nil {
		t.Fatalf("destination: %v: %s", err, dstOut.String())
	}
	if err := src.Wait(); err != nil {
		t.Fatalf("source: %v", err)
	}
	sent = strings.Count(srcOut.String(), `"type":"STATE"`)
	acked = strings.Count(dstOut.String(), `"type":"STATE"`)
	files = map[string][]string{}
	for _, name := range []string{"users", "products", "purchases"} {
		raw, err := os.ReadFile(filepath.Join(root, "out", name+".jsonl"))
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			var rec struct {
				Data json.RawMessage `json:"_airbyte_data"`
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			files[name] = append(files[name], string(rec.Data))
		}
		slices.Sort(files[name])
	}
	return files, sent, acked
}

// canonical is data as it comes out of a protobuf round trip: members in
// schema order, nulls omitted, timestamps in canonical RFC 3339.
func canonical(t *testing.T, s *protobuf.RecordSchema, data string) string {
	t.Helper()
	p, _, err := s.AppendRecordProto(nil, []byte(`{"stream":"x","data":`+data+`,"emitted_at":1}`))
	if err != nil {
		t.Fatal(err)
	}
	js, err := s.AppendRecordJSON(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	start, end, _ := protocol.MemberSpan(js, "data")
	return string(js[start:end])
}

// TestFakerSocketsMatchStdio: a faker -> jsonl sync over 2 and 8 sockets,
// in both formats, writes exactly the records of the stdio run (for
// PROTOBUF, after the round trip's documented normalization), and every
// state is acknowledged.
func TestFakerSocketsMatchStdio(t *testing.T) {
	faker := cdktest.Build(t, fakerPkg)
	cat, schemas := fakerCatalog(t, faker, writeTemp(t, `{"count": 1}`))
	want, _, _ := fakerSync(t, cat, "", 0)
	for _, format := range []string{cdk.FormatJSONL, cdk.FormatProtobuf} {
		for _, n := range []int{2, 8} {
			t.Run(fmt.Sprintf("%s/%d", format, n), func(t *testing.T) {
				got, sent, acked := fakerSync(t, cat, format, n)
				if sent == 0 || acked != sent {
					t.Errorf("%d acks for %d states", acked, sent)
				}
				for name, rows := range want {
					exp := rows
					if format == cdk.FormatProtobuf {
						exp = make([]string, len(rows))
						for i, d := range rows {
							exp[i] = canonical(t, schemas[name], d)
						}
						slices.Sort(exp)
					}
					if diff := cmp.Diff(exp, got[name]); diff != "" {
						t.Errorf("stream %s differs from the stdio run (-want +got):\n%.2000s", name, diff)
					}
				}
			})
		}
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMain(m *testing.M) {
	code := m.Run()
	cdktest.RemoveBuilds()
	os.Exit(code)
}
