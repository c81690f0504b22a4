package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/protocol"
)

// BenchmarkSocketInProcess runs faker and a discarding destination in one
// process over sockets, so that a CPU profile (-cpuprofile) shows both
// sides of the kit's socket path on faker's records.
func BenchmarkSocketInProcess(b *testing.B) {
	for _, format := range []string{cdk.FormatJSONL, cdk.FormatProtobuf} {
		b.Run(format, func(b *testing.B) {
			dir := b.TempDir()
			paths := []string{filepath.Join(dir, "s1.sock"), filepath.Join(dir, "s2.sock")}
			b.Setenv(cdk.EnvMedium, cdk.MediumSocket)
			b.Setenv(cdk.EnvFormat, format)
			b.Setenv(cdk.EnvSocketPaths, strings.Join(paths, ","))
			cfg := filepath.Join(dir, "c.json")
			os.WriteFile(cfg, []byte(`{"count": 100000, "seed": 5}`), 0o600)
			cat := discoveredCatalog(b, cfg)
			for b.Loop() {
				var wg sync.WaitGroup
				wg.Go(func() {
					if code := cdk.Run(context.Background(), source{}, []string{"read", "--config", cfg, "--catalog", cat},
						cdk.Stdio{Out: io.Discard, Err: io.Discard}); code != 0 {
						b.Errorf("read: exit %d", code)
					}
				})
				if code := cdk.Run(context.Background(), discard{}, []string{"write", "--config", cfg, "--catalog", cat},
					cdk.Stdio{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}); code != 0 {
					b.Errorf("write: exit %d", code)
				}
				wg.Wait()
			}
			b.ReportMetric(float64(b.N)*200100/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// discoveredCatalog configures every stream faker offers, with its schema.
func discoveredCatalog(b *testing.B, cfg string) string {
	var out strings.Builder
	cdk.Run(context.Background(), source{}, []string{"discover", "--config", cfg}, cdk.Stdio{Out: &out, Err: io.Discard})
	var cat protocol.ConfiguredCatalog
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if m, err := protocol.Decode([]byte(line)); err == nil && m.Catalog != nil {
			for _, s := range m.Catalog.Streams {
				cat.Streams = append(cat.Streams, protocol.ConfiguredStream{Stream: s, SyncMode: protocol.SyncFullRefresh, DestinationSyncMode: protocol.DestAppend})
			}
		}
	}
	p := filepath.Join(b.TempDir(), "catalog.json")
	raw, _ := json.Marshal(cat)
	os.WriteFile(p, raw, 0o600)
	return p
}

// discard is a destination that keeps nothing.
type discard struct{}

func (discard) Spec() *protocol.Spec                                        { return spec }
func (discard) Check(context.Context, *cdk.Request) error                   { return nil }
func (discard) Open(context.Context, *cdk.WriteRequest) (cdk.Writer, error) { return discard{}, nil }
func (discard) OpenStream(context.Context, *protocol.ConfiguredStream) (cdk.StreamWriter, error) {
	return discard{}, nil
}
func (discard) Close(context.Context) error               { return nil }
func (discard) ProtobufRecords() bool                     { return true }
func (discard) Write(context.Context, []cdk.Record) error { return nil }
func (discard) Flush(context.Context) error               { return nil }
func (discard) Finish(context.Context, bool) error        { return nil }
