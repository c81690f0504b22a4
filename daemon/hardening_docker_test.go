package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/store"
)

// TestDockerStrictReferenceConnectors syncs the demo (faker → JSONL) on
// real Docker with the definitions' default hardening: the images' label
// makes both strict, so the destination writes /local as the local root's
// user, not as root. A definition set to compatible through the store (as
// the definitions API does) runs as the image says, root here; in socket
// mode its strict source then runs compatible too, so that it can reach
// the source's sockets.
func TestDockerStrictReferenceConnectors(t *testing.T) {
	c := runnertest.RequireDocker(t)
	for _, name := range []string{"source-faker", "destination-jsonl", "connector-scripted"} {
		runnertest.BuildImage(t, name, "./connectors/"+name)
	}
	d := openDaemon(t, dockerConfig(t), Options{Bootstrap: true})
	sweepAtCleanup(t, d)
	ctx := context.Background()
	conns, _, err := d.db.Connections(ctx, store.ConnectionFilter{})
	if err != nil || len(conns) != 1 {
		t.Fatalf("connections: %d (%v), want the demo", len(conns), err)
	}
	demo := conns[0]
	serve(t, d)
	first := waitJob(t, d, jobsOf(t, d, demo.ID)[0].ID)
	if first.Status != store.JobSucceeded {
		t.Fatalf("demo sync under strict: %s %+v, want succeeded", first.Status, first.Attempts[0].FailureReasons)
	}
	out := filepath.Join(d.cfg.LocalRoot(), "demo", "users.jsonl")
	wantUID := uint32(os.Getuid())
	if wantUID == 0 {
		wantUID = 65532 // a root daemon gave the local root to runner.StrictUser
	}
	if uid := ownerOf(t, out); uid != wantUID {
		t.Errorf("%s written by uid %d under strict, want %d", out, uid, wantUID)
	}

	dst, err := d.db.Definition(ctx, store.StableDefinitionID(store.KindDestination, "jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	dst.Hardening = store.HardeningCompatible
	if err := d.db.UpdateDefinition(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Dir(out)); err != nil {
		t.Fatal(err)
	}
	second := runJob(t, d, demo.ID, store.JobSync)
	if second.Status != store.JobSucceeded {
		t.Fatalf("demo sync with a compatible destination: %s %+v, want succeeded", second.Status, second.Attempts[0].FailureReasons)
	}
	// The demo runs in socket mode, where the strict source and the
	// compatible destination must share a user: both ran compatible.
	if mode := second.Attempts[0].Mode; mode != protocol.ModeSocket {
		t.Errorf("demo attempt ran in %s mode, want socket (both reference connectors speak it)", mode)
	} else if !strings.Contains(attemptLog(t, d, second, 1), "both run compatible") {
		t.Errorf("socket-mode attempt with a strict source and a compatible destination: its log does not say both ran compatible")
	}
	if uid := ownerOf(t, out); uid != 0 {
		t.Errorf("%s written by uid %d under compatible, want 0 (the image's root user)", out, uid)
	}
	if cs, vs := leftovers(t, c, d.InstanceID()); cs != 0 || vs != 0 {
		t.Errorf("left %d containers and %d volumes, want none", cs, vs)
	}
}

func ownerOf(t *testing.T, path string) uint32 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Uid
}
