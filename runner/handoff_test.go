package runner

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
)

func newTestOutput(t *testing.T) *sourceOutput {
	t.Helper()
	r, w, err := newPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return newSourceOutput(r, w)
}

// readAll reads the data path's side to its end in another goroutine.
func readAll(o *sourceOutput) <-chan string {
	got := make(chan string, 1)
	go func() {
		b, err := io.ReadAll(o.Reader())
		if err != nil {
			b = append(b, "<error: "+err.Error()+">"...)
		}
		got <- string(b)
	}()
	return got
}

// TestSourceOutputWays: whichever way the runtime delivers the source's
// output (a stream handed over, writes, the pipe given to a child, or
// nothing at all), the data path reads the same bytes and then the end.
func TestSourceOutputWays(t *testing.T) {
	const text = "line one\nline two\n"
	ways := map[string]func(o *sourceOutput) error{
		"stream": func(o *sourceOutput) error {
			return o.Writer().(OutputTaker).TakeOutput(iotest.HalfReader(strings.NewReader(text)))
		},
		"writes": func(o *sourceOutput) error {
			_, err := io.WriteString(o.Writer(), text)
			return err
		},
		"pipe file": func(o *sourceOutput) error {
			_, err := io.WriteString(o.Writer().(PipeFile).PipeFile(), text)
			return err
		},
		"stream after writes": func(o *sourceOutput) error {
			if _, err := io.WriteString(o.Writer(), "line one\n"); err != nil {
				return err
			}
			return o.Writer().(OutputTaker).TakeOutput(strings.NewReader("line two\n"))
		},
	}
	for name, deliver := range ways {
		t.Run(name, func(t *testing.T) {
			o := newTestOutput(t)
			got := readAll(o)
			if err := deliver(o); err != nil {
				t.Fatal(err)
			}
			o.closeWriter()
			if g := <-got; g != text {
				t.Fatalf("read %q, want %q", g, text)
			}
		})
	}
	t.Run("nothing", func(t *testing.T) {
		o := newTestOutput(t)
		got := readAll(o)
		o.closeWriter()
		if g := <-got; g != "" {
			t.Fatalf("read %q, want nothing", g)
		}
	})
}

// TestSourceOutputStreamFails: a stream that fails ends the data path's
// output as a closed pipe would, after the bytes read before, and its
// error goes back to the runtime.
func TestSourceOutputStreamFails(t *testing.T) {
	o := newTestOutput(t)
	got := readAll(o)
	boom := errors.New("connection reset")
	err := o.Writer().(OutputTaker).TakeOutput(io.MultiReader(strings.NewReader("partial\n"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Fatalf("TakeOutput: %v, want %v", err, boom)
	}
	o.closeWriter()
	if g := <-got; g != "partial\n" {
		t.Fatalf("read %q, want %q and the end", g, "partial\n")
	}
}

// TestSourceOutputEndsAfterRun: a handed-over stream's end reaches the
// data path only once the source's Run has returned (closeWriter), as a
// pipe's end does; the runtime's wait and removal after the stream's end
// must not count against SourceExit.
func TestSourceOutputEndsAfterRun(t *testing.T) {
	o := newTestOutput(t)
	var closing atomic.Bool
	read := make(chan string, 1)
	go func() {
		b, err := io.ReadAll(o.Reader())
		if err != nil || !closing.Load() {
			b = append(b, fmt.Sprintf("<end before closeWriter, or error %v>", err)...)
		}
		read <- string(b)
	}()
	if err := o.Writer().(OutputTaker).TakeOutput(strings.NewReader("last\n")); err != nil {
		t.Fatal(err)
	}
	closing.Store(true)
	o.closeWriter()
	if g := <-read; g != "last\n" {
		t.Fatalf("read %q, want %q and then the end", g, "last\n")
	}
}
