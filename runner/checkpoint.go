package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferrysync/ferry/protocol"
)

// Checkpointer durably stores destination-acknowledged state. The daemon
// implements it on its store; `ferry sync` on a state file.
//
// Sync calls Commit from one goroutine, in acknowledgement order, each time
// the destination confirms new state, and once more at the end with the
// final stats. States is the whole committed state after the commit (one
// entry per stream for STREAM, a single GLOBAL or LEGACY entry), already
// cleaned of bookkeeping keys: a store may replace what it has with it. A
// Commit error fails the attempt; the previous committed state must then
// still be intact. A Checkpointer whose storage is out of space wraps
// ErrStorageFull, so the attempt's failure can say so first.
type Checkpointer interface {
	Commit(ctx context.Context, cp Checkpoint) error
}

// ErrStorageFull is wrapped by a Checkpointer's error when its storage
// ran out of space (a full disk under Ferry's data directory).
var ErrStorageFull = errors.New("storage full")

// StorageFullMessage starts the failure of an attempt whose state could
// not be committed for want of space, as users read it.
const StorageFullMessage = "Ferry's data directory is full"

// StorageFull marks err as a full disk (it then wraps ErrStorageFull)
// without changing its text.
func StorageFull(err error) error { return storageFull{err} }

type storageFull struct{ error }

func (e storageFull) Unwrap() []error { return []error{e.error, ErrStorageFull} }

// Checkpoint is one durable commit.
type Checkpoint struct {
	// States is the full committed state after this commit. Nil when the
	// commit only carries stats.
	States []*protocol.State
	// Changed lists the streams whose state this commit changed.
	Changed []protocol.StreamDescriptor
	// Stats are the attempt's counts so far.
	Stats Stats
	// Final marks the last commit of the attempt.
	Final bool
}

// CheckpointFunc adapts a function to Checkpointer.
type CheckpointFunc func(ctx context.Context, cp Checkpoint) error

// Commit calls f.
func (f CheckpointFunc) Commit(ctx context.Context, cp Checkpoint) error { return f(ctx, cp) }

// FileCheckpointer writes the committed state to a file in the shape a
// source expects for --state (docs/protocol.md 1.3), atomically: a temp file is
// written and fsynced, then renamed over the target, so a crash leaves
// either the old or the new state, never a torn one.
type FileCheckpointer struct {
	Path string
}

// Commit writes cp.States when it changed.
func (f *FileCheckpointer) Commit(_ context.Context, cp Checkpoint) error {
	if cp.States == nil {
		return nil
	}
	b, err := protocol.StateFile(cp.States)
	if err != nil {
		return err
	}
	return WriteFileAtomic(f.Path, b, 0o600)
}

// WriteFileAtomic replaces path with data durably.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this is a no-op
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: not every filesystem syncs directories
		d.Close()
	}
	return nil
}
