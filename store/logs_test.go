package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeLog creates a log file of size bytes last modified age ago.
func writeLog(t *testing.T, path string, size int, age time.Duration) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Repeat("l", size)), 0o644); err != nil {
		t.Fatal(err)
	}
	mod := time.Now().Add(-age)
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// TestPruneLogs verifies retention: files past the age go first, then the
// oldest until the total fits, never a kept (running) log, and emptied job
// directories are removed.
func TestPruneLogs(t *testing.T) {
	data := t.TempDir()
	dir := LogDir(data)
	ancient := LogPath(data, 1, 1)
	old := LogPath(data, 2, 1)
	mid := LogPath(data, 2, 2)
	running := LogPath(data, 3, 1)
	fresh := LogPath(data, 4, 1)
	writeLog(t, ancient, 100, 40*24*time.Hour)
	writeLog(t, running, 100, 5*time.Hour) // oldest of the rest, but kept
	writeLog(t, old, 100, 3*time.Hour)
	writeLog(t, mid, 100, 2*time.Hour)
	writeLog(t, fresh, 100, time.Minute)

	res, err := PruneLogs(dir, 30*24*time.Hour, 250, running)
	if err != nil {
		t.Fatal(err)
	}
	if res.RemovedFiles != 3 || res.RemovedBytes != 300 || res.KeptFiles != 2 || res.KeptBytes != 200 {
		t.Errorf("result %+v", res)
	}
	for path, want := range map[string]bool{ancient: false, old: false, mid: false, running: true, fresh: true} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", path, err == nil, want)
		}
	}
	for _, job := range []string{"1", "2"} {
		if _, err := os.Stat(filepath.Join(dir, job)); !os.IsNotExist(err) {
			t.Errorf("job directory %s not removed", job)
		}
	}
	if res, err := PruneLogs(filepath.Join(data, "missing"), time.Hour, 1); err != nil || res.RemovedFiles != 0 {
		t.Errorf("missing directory: %+v, %v", res, err)
	}
}
