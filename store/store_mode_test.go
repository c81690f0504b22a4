package store

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOpenOwnerOnly creates ferry.db and its -wal and -shm files 0600 even
// under a permissive umask, and narrows a database an older Ferry created
// 0644.
func TestOpenOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o002)
	t.Cleanup(func() { syscall.Umask(old) })
	check := func(path string) {
		t.Helper()
		db, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		// A write, so the WAL and its index exist while the database is open.
		if _, err := db.execRaw(t.Context(), "CREATE TABLE mode_probe (x)"); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("%s: mode %o, want 600", filepath.Base(p), got)
			}
		}
		db.Close()
	}
	dir := t.TempDir()
	check(filepath.Join(dir, "ferry.db"))

	legacy := filepath.Join(dir, "legacy.db")
	if err := os.WriteFile(legacy, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(legacy, 0o644); err != nil {
		t.Fatal(err)
	}
	check(legacy)
}
