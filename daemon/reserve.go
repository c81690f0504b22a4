package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// reserveBytes is the space Ferry keeps for itself in its data directory,
// as a file of zeros it can delete. When the disk is full the store
// refuses every write, including the one that records how an attempt
// ended; the job would then show running until someone freed space (issue
// 18 saw two minutes), and a cancel could not be recorded. Deleting the
// reserve gives those writes room, so a full disk fails the attempt
// promptly and visibly.
const reserveBytes = 4 << 20

// reserveName is the reserve's file name in the data directory.
const reserveName = "ferry.reserve"

// spaceReserve is the data directory's reserve file. Its methods are safe
// for concurrent use.
type spaceReserve struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex
	// short is set while there is no room for the reserve.
	short bool
}

func newSpaceReserve(dataDir string, log *slog.Logger) *spaceReserve {
	return &spaceReserve{path: filepath.Join(dataDir, reserveName), log: log}
}

// ensure creates the reserve when it is missing and there is room for it
// and as much again, and reports whether it is in place. On a disk too
// full for it, it leaves nothing behind and tries again at its next call.
// The margin keeps a reserve just released from being taken back at once
// from the very space it freed.
func (r *spaceReserve) ensure() bool {
	if r == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if fi, err := os.Stat(r.path); err == nil && fi.Size() == reserveBytes {
		return true
	}
	dir := filepath.Dir(r.path)
	if free, ok := freeBytes(dir); ok && free < 2*reserveBytes {
		r.note(fmt.Errorf("%d bytes free", free))
		return false
	}
	if err := writeZeros(r.path, reserveBytes); err != nil {
		os.Remove(r.path)
		r.note(err)
		return false
	}
	if r.short {
		r.log.Info("the data directory has space again; attempts start again")
	}
	r.short = false
	return true
}

// note logs, once until the reserve is back, that there is no room for it.
func (r *spaceReserve) note(err error) {
	if !r.short {
		r.log.Error("the data directory is full: no attempt starts until space is freed", "dir", filepath.Dir(r.path), "error", err)
	}
	r.short = true
}

// release deletes the reserve and reports whether there was one to free.
func (r *spaceReserve) release() bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	err := os.Remove(r.path)
	if err == nil {
		r.log.Warn("the data directory is full: released Ferry's reserved space to record what must be recorded; free space on the disk", "bytes", reserveBytes)
	}
	return err == nil
}

// writeZeros writes a file of n zero bytes, really allocated (a sparse
// file would reserve nothing), and syncs it.
func writeZeros(path string, n int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for n > 0 {
		k, err := f.Write(buf[:min(n, len(buf))])
		if err != nil {
			f.Close()
			return err
		}
		n -= k
	}
	return errors.Join(f.Sync(), f.Close())
}
