package cdk

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// syncBuffer is a bytes.Buffer safe for one writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWriteAcksWhileInputIsIdle acknowledges a state within the flush
// interval even though no more input arrives: a slow source must not hold
// back its acknowledgements.
func TestWriteAcksWhileInputIsIdle(t *testing.T) {
	d := &memDest{opts: WriteOptions{FlushInterval: 20 * time.Millisecond}}
	pr, pw := io.Pipe()
	var out syncBuffer
	done := make(chan int, 1)
	args := []string{"write", "--config", writeFile(t, "c.json", `{"count":1}`),
		"--catalog", configuredCatalog(t, protocol.SyncFullRefresh, protocol.DestAppend, "a")}
	go func() {
		done <- run(context.Background(), d, args, Stdio{In: pr, Out: &out, Err: io.Discard}, time.Now)
	}()
	if _, err := io.WriteString(pw, input("r:a:1", "s:a:1:1")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), `"type":"STATE"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no acknowledgement within 5s while stdin stayed open; stdout: %s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	pw.Close()
	if code := <-done; code != ExitOK {
		t.Errorf("exit code: got %d, want 0", code)
	}
}
