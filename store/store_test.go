package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// testClock is an injectable clock that tests advance by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testKey is a fixed key, so tests are reproducible.
func testKey(t testing.TB) *Key {
	t.Helper()
	k, err := NewKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mustOpen opens a fresh database file under t.TempDir() with a test clock
// and key, and closes it when the test ends.
func mustOpen(t testing.TB, opts ...Option) (*DB, *testClock) {
	t.Helper()
	clock := newTestClock()
	opts = append([]Option{WithNow(clock.Now), WithKey(testKey(t))}, opts...)
	db, err := Open(context.Background(), testTarget(t), opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db, clock
}

// TestOpenPragmas verifies that every pooled connection gets the DSN
// pragmas, not only the first one.
func TestOpenPragmas(t *testing.T) {
	sqliteOnly(t)
	db, _ := mustOpen(t)
	ctx := context.Background()
	// Hold several connections at once so the pool must open new ones.
	var conns []interface{ Close() error }
	for i := 0; i < 4; i++ {
		c, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "synchronous": "2", "busy_timeout": "10000",
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("conn %d: PRAGMA %s = %q, want %q", i, pragma, got, want)
			}
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

// TestOpenRejectsMemory verifies that only file paths are accepted.
func TestOpenRejectsMemory(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file::memory:", "/tmp/a?b"} {
		if db, err := Open(context.Background(), p); err == nil {
			db.Close()
			t.Errorf("Open(%q): got nil error", p)
		}
	}
}
