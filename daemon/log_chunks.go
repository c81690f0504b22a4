package daemon

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ferrysync/ferry/store"
)

// Batching of the attempt log into the database (replicas sharing a
// store): one row per flush, never one per line.
const (
	logFlushEvery = 200 * time.Millisecond
	logFlushBytes = 64 << 10
)

// dbLog appends an attempt's log to the store in chunks, beside its
// file: the same bytes at the same offsets, so any replica can serve it.
// Write only buffers; a flush runs every logFlushEvery or at
// logFlushBytes, and Close flushes the rest before the attempt's end is
// recorded. A failed append loses those lines for other replicas only
// (the file has them) and is logged, never failing the attempt.
type dbLog struct {
	db        *store.DB
	attemptID int64
	log       *slog.Logger

	mu   sync.Mutex
	buf  []byte
	pos  int64 // offset of buf's first byte
	stop chan struct{}
	done chan struct{}
}

func newDBLog(db *store.DB, attemptID int64, log *slog.Logger) *dbLog {
	l := &dbLog{db: db, attemptID: attemptID, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l
}

func (l *dbLog) loop() {
	defer close(l.done)
	t := time.NewTicker(logFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.flush()
		}
	}
}

// Write buffers p; it never fails, so it cannot break the file's writer.
func (l *dbLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf = append(l.buf, p...)
	full := len(l.buf) >= logFlushBytes
	l.mu.Unlock()
	if full {
		l.flush()
	}
	return len(p), nil
}

// flush appends the buffered bytes as chunks. It holds the lock while it
// writes, so chunks land in order.
func (l *dbLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.buf) > 0 {
		n := min(len(l.buf), logFlushBytes)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := l.db.AppendLog(ctx, l.attemptID, l.pos, l.buf[:n])
		cancel()
		if err != nil {
			l.log.Warn("store attempt log lines for other replicas", "bytes", n, "error", err)
		}
		l.pos += int64(n)
		l.buf = l.buf[n:]
	}
	l.buf = nil
}

// Close stops the timer and flushes what is left.
func (l *dbLog) Close() error {
	close(l.stop)
	<-l.done
	l.flush()
	return nil
}
