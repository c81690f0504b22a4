package store

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// The opaque JSON the store keeps goes back to connectors, so these tests
// pin what comes back out:
//   - configs: byte-for-byte json.Compact(input) (key order, number
//     literals and string escapes kept), after encryption and decryption;
//   - catalogs and states: byte-for-byte the protocol model's encoding of
//     the input (semantically equal to it: undeclared members kept, in
//     sorted order; states cleaned of bookkeeping keys), and that encoding
//     is a fixed point, so storing it again changes nothing.

// golden compares got with testdata/golden/name, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(bytes.TrimSuffix(want, []byte("\n"))), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, diff)
	}
}

// TestGoldenConfig verifies the config round trip through encryption, and
// the masked view.
func TestGoldenConfig(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := readTestdata(t, "config.json")
	rc, err := f.db.ActorConfig(ctx, KindSource, f.src.ID)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, in); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rc.Config, compact.Bytes()) {
		t.Errorf("decrypted config is not json.Compact(input):\n got %s\nwant %s", rc.Config, compact.Bytes())
	}
	golden(t, "config.json", rc.Config)
	a, err := f.db.Actor(ctx, KindSource, f.src.ID)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "config.masked.json", a.Config)
}

// TestGoldenCatalog verifies the configured catalog round trip.
func TestGoldenCatalog(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := f.db.Connection(ctx, f.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := []byte(mustJSON(t, c.Catalog))
	golden(t, "catalog.json", out)
	// Fixed point: storing the output again gives the same bytes.
	var again protocol.ConfiguredCatalog
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatal(err)
	}
	c2 := f.newConnection(t, func(c *Connection) { c.Catalog = &again })
	c2, _ = f.db.Connection(ctx, c2.ID)
	if got := mustJSON(t, c2.Catalog); got != string(out) {
		t.Errorf("second round trip:\n got %s\nwant %s", got, out)
	}
}

// TestGoldenState verifies the state round trip of each kind, as the state
// file a source gets.
func TestGoldenState(t *testing.T) {
	for _, kind := range []string{"stream", "global", "legacy"} {
		t.Run(kind, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			c := f.mustClaim(t)
			in := parseStates(t, readTestdata(t, "state_"+kind+".json"))
			if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, in, Stats{}); err != nil {
				t.Fatal(err)
			}
			got, err := f.db.State(ctx, f.conn.ID)
			if err != nil {
				t.Fatal(err)
			}
			file, err := protocol.StateFile(got)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "state_"+kind+".json", file)
			// Fixed point through ReplaceState (the API's PUT).
			if _, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID,
				Status: AttemptSucceeded, JobStatus: JobSucceeded}); err != nil {
				t.Fatal(err)
			}
			parsed, err := protocol.ParseStateFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.db.ReplaceState(ctx, f.conn.ID, parsed); err != nil {
				t.Fatal(err)
			}
			again, _ := f.db.State(ctx, f.conn.ID)
			if file2, _ := protocol.StateFile(again); !bytes.Equal(file2, file) {
				t.Errorf("second round trip:\n got %s\nwant %s", file2, file)
			}
		})
	}
}
