package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Attempt logs live as files, not in SQLite: they are large, append-only
// and read by offset, and keeping them out of the database keeps its
// checkpoints and backups small.

// LogDir returns the directory that holds the attempt logs of a data
// directory.
func LogDir(dataDir string) string { return filepath.Join(dataDir, "logs") }

// LogPath returns the log file of attempt number attempt of job jobID:
// <data-dir>/logs/<job>/attempt-<n>.log.
func LogPath(dataDir string, jobID int64, attempt int) string {
	return filepath.Join(LogDir(dataDir), fmt.Sprint(jobID), fmt.Sprintf("attempt-%d.log", attempt))
}

// PruneResult counts what PruneLogs removed and kept.
type PruneResult struct {
	RemovedFiles int
	RemovedBytes int64
	KeptFiles    int
	KeptBytes    int64
}

// PruneLogs deletes attempt logs under dir (a LogDir): first every file
// last modified more than maxAge ago, then the oldest files until the rest
// total at most maxTotalBytes. Zero disables either limit. The paths in
// keep (logs of running attempts) are never removed. Job directories left
// empty are removed too. Errors on single files are joined and returned
// after the rest are pruned.
func PruneLogs(dir string, maxAge time.Duration, maxTotalBytes int64, keep ...string) (PruneResult, error) {
	type logFile struct {
		path string
		size int64
		mod  time.Time
	}
	keepSet := make(map[string]bool, len(keep))
	for _, k := range keep {
		keepSet[filepath.Clean(k)] = true
	}
	var files []logFile
	var errs []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				return fs.SkipAll
			}
			errs = append(errs, err)
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		files = append(files, logFile{filepath.Clean(path), info.Size(), info.ModTime()})
		return nil
	})
	if err != nil {
		return PruneResult{}, err
	}
	// Oldest first; the path breaks ties so the order is stable.
	sort.Slice(files, func(i, j int) bool {
		if !files[i].mod.Equal(files[j].mod) {
			return files[i].mod.Before(files[j].mod)
		}
		return files[i].path < files[j].path
	})
	var res PruneResult
	for _, f := range files {
		res.KeptFiles++
		res.KeptBytes += f.size
	}
	cutoff := time.Now().Add(-maxAge)
	remove := func(f logFile) {
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			return
		}
		res.RemovedFiles++
		res.RemovedBytes += f.size
		res.KeptFiles--
		res.KeptBytes -= f.size
		// Remove the job directory when it is empty; failing is fine.
		if parent := filepath.Dir(f.path); parent != filepath.Clean(dir) {
			_ = os.Remove(parent)
		}
	}
	for _, f := range files {
		if keepSet[f.path] {
			continue
		}
		tooOld := maxAge > 0 && f.mod.Before(cutoff)
		tooBig := maxTotalBytes > 0 && res.KeptBytes > maxTotalBytes
		if tooOld || tooBig {
			remove(f)
		}
	}
	return res, errors.Join(errs...)
}
