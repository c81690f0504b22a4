package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/cdk/cdktest"
	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// BenchmarkSocketIntake replays what faker sends over one socket, captured
// once per format, into destination-jsonl running in the benchmark's
// process: the destination's side of socket mode alone (the kit's intake,
// the PROTOBUF records' conversion to JSON, the writer), so that
// -cpuprofile shows it without the source. cpu-ns/record is the process's
// user plus system time per record (the replaying writer is a small part
// of it).
func BenchmarkSocketIntake(b *testing.B) {
	faker := cdktest.Build(b, fakerPkg)
	all, _ := fakerCatalog(b, faker, writeTempTB(b, `{"count": 1}`))
	// purchases alone are the records of make bench-sync's rows.
	for _, cat := range []struct{ name, path string }{{"all", all}, {"purchases", purchasesCatalog(b, all)}} {
		for _, format := range []string{cdk.FormatJSONL, cdk.FormatProtobuf} {
			wire, records := captureFaker(b, faker, cat.path, format)
			b.Run(format+"/"+cat.name, func(b *testing.B) { replayIntake(b, cat.path, format, wire, records) })
		}
	}
}

// purchasesCatalog is the configured catalog at path with its purchases
// stream alone.
func purchasesCatalog(b *testing.B, path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var cc protocol.ConfiguredCatalog
	if err := json.Unmarshal(raw, &cc); err != nil {
		b.Fatal(err)
	}
	cc.Streams = slices.DeleteFunc(cc.Streams, func(s protocol.ConfiguredStream) bool { return s.Stream.Name != "purchases" })
	out, err := json.Marshal(cc)
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(b.TempDir(), "purchases.json")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

// benchIntakeCount is how many users and purchases faker makes.
const benchIntakeCount = 200_000

// captureFaker runs faker over one socket in format and returns every byte
// it sent and the number of records among them.
func captureFaker(b *testing.B, faker, cat, format string) ([]byte, int) {
	streams, err := os.ReadFile(cat)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	cfg := writeTempTB(b, fmt.Sprintf(`{"count": %d, "seed": 5, "records_per_slice": 1000}`, benchIntakeCount))
	path := filepath.Join(dir, "s.sock")
	src := exec.Command(faker, "read", "--config", cfg, "--catalog", cat)
	src.Env = append(os.Environ(), cdk.EnvMedium+"=SOCKET", cdk.EnvFormat+"="+format, cdk.EnvSocketPaths+"="+path)
	src.Stdout, src.Stderr = io.Discard, io.Discard
	if err := src.Start(); err != nil {
		b.Fatal(err)
	}
	var conn net.Conn
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) { // until faker listens (a benchmark only)
		if conn, err = net.Dial("unix", path); err == nil {
			break
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	wire, err := io.ReadAll(conn)
	conn.Close()
	if err != nil {
		b.Fatal(err)
	}
	if err := src.Wait(); err != nil {
		b.Fatalf("faker: %v", err)
	}
	if bytes.Count(streams, []byte(`"sync_mode"`)) == 1 {
		return wire, benchIntakeCount // purchases
	}
	return wire, 2*benchIntakeCount + 100 // users, purchases and faker's 100 products
}

// replayIntake writes wire to destination-jsonl over one socket, b.N
// times.
func replayIntake(b *testing.B, cat, format string, wire []byte, records int) {
	dir := b.TempDir()
	path := filepath.Join(dir, "s.sock")
	b.Setenv(cdk.EnvMedium, cdk.MediumSocket)
	b.Setenv(cdk.EnvFormat, format)
	b.Setenv(cdk.EnvSocketPaths, path)
	b.Setenv(cdk.LocalRootEnv, dir)
	dcfg := writeTempTB(b, `{"destination_path":"/local/out"}`)
	b.SetBytes(int64(len(wire)))
	start := cpuTime()
	for b.Loop() {
		ln, err := net.Listen("unix", path)
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			defer ln.Close()
			c, err := ln.Accept()
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			if _, err := c.Write(wire); err != nil && !errors.Is(err, syscall.EPIPE) {
				b.Error(err)
			}
		})
		var out strings.Builder
		if code := cdk.Run(context.Background(), destination{}, []string{"write", "--config", dcfg, "--catalog", cat},
			cdk.Stdio{In: strings.NewReader(""), Out: &out, Err: io.Discard}); code != 0 {
			b.Fatalf("destination exit %d: %s", code, out.String())
		}
		wg.Wait()
	}
	cpu := cpuTime() - start
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*records), "cpu-ns/record")
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func writeTempTB(b *testing.B, content string) string {
	p := filepath.Join(b.TempDir(), "f.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkProtoToJSON converts faker's captured PROTOBUF records to their
// JSON lines, the conversion alone.
func BenchmarkProtoToJSON(b *testing.B) {
	faker := cdktest.Build(b, fakerPkg)
	catPath, _ := fakerCatalog(b, faker, writeTempTB(b, `{"count": 1}`))
	wire, _ := captureFaker(b, faker, catPath, cdk.FormatProtobuf)
	raw, err := os.ReadFile(catPath)
	if err != nil {
		b.Fatal(err)
	}
	var cc protocol.ConfiguredCatalog
	if err := json.Unmarshal(raw, &cc); err != nil {
		b.Fatal(err)
	}
	var streams []protocol.Stream
	for _, s := range cc.Streams {
		streams = append(streams, s.Stream)
	}
	cat, err := protobuf.NewCatalog(streams)
	if err != nil {
		b.Fatal(err)
	}
	var frames [][]byte
	r := protobuf.NewReader(bytes.NewReader(wire), 0)
	for {
		f, err := r.ReadFrame()
		if err != nil {
			break
		}
		frames = append(frames, append([]byte(nil), f...))
	}
	// The bench rows of make bench-sync carry purchases alone.
	var purchases [][]byte
	var conv protobuf.Converter
	for _, f := range frames {
		if out, _, err := conv.AppendMessageJSONSpans(cat, nil, f); err == nil && bytes.Contains(out, []byte(`"stream":"purchases"`)) {
			purchases = append(purchases, f)
		}
	}
	b.Run("all", func(b *testing.B) { convertFrames(b, cat, frames) })
	b.Run("purchases", func(b *testing.B) { convertFrames(b, cat, purchases) })
}

// convertFrames converts frames to JSON lines, b.N times.
func convertFrames(b *testing.B, cat *protobuf.Catalog, frames [][]byte) {
	var n int64
	for _, f := range frames {
		n += int64(len(f))
	}
	b.SetBytes(n)
	var out []byte
	var conv protobuf.Converter
	for b.Loop() {
		for _, f := range frames {
			var err error
			out, _, err = conv.AppendMessageJSONSpans(cat, out[:0], f)
			if err != nil && !errors.Is(err, protobuf.ErrProbe) {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(frames)), "ns/frame")
}
