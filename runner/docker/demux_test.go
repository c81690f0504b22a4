package docker

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/docker/docker/pkg/stdcopy"
)

// taker is a runner.OutputTaker as the sync engine's is, reading the
// stream it is handed in small reads.
type taker struct {
	got bytes.Buffer
}

func (t *taker) Write(p []byte) (int, error) { return t.got.Write(p) }

func (t *taker) TakeOutput(r io.Reader) error {
	buf := make([]byte, 5)
	for {
		n, err := r.Read(buf)
		t.got.Write(buf[:n])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// frames builds an attach stream: even entries go to stdout, odd ones to
// stderr.
func frames(t *testing.T, parts ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	out, errw := stdcopy.NewStdWriter(&b, stdcopy.Stdout), stdcopy.NewStdWriter(&b, stdcopy.Stderr)
	for i, p := range parts {
		w := out
		if i%2 == 1 {
			w = errw
		}
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// TestDemuxTakerMatchesStdCopy: a taker reads the same stdout, and
// stderr gets the same bytes, as StdCopy's writes give.
func TestDemuxTakerMatchesStdCopy(t *testing.T) {
	stream := frames(t, `{"type":"RECORD"}`+"\n", "warn 1\n", "", "warn 2\n", strings.Repeat("x", 70000)+"\n", "", `{"type":"STATE"}`+"\n")
	var wantOut, wantErr bytes.Buffer
	if _, err := stdcopy.StdCopy(&wantOut, &wantErr, bytes.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	var tk taker
	var gotErr bytes.Buffer
	if err := demux(&tk, &gotErr, bytes.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	if tk.got.String() != wantOut.String() || gotErr.String() != wantErr.String() {
		t.Fatalf("stdout %d bytes, stderr %q; want %d bytes, %q", tk.got.Len(), gotErr.String(), wantOut.Len(), wantErr.String())
	}
}

// TestDemuxBadStreams: the engine's error, an unknown stream and a cut
// frame fail with a clear error, after what came before them.
func TestDemuxBadStreams(t *testing.T) {
	good := frames(t, "line\n")
	var sysErr bytes.Buffer
	stdcopy.NewStdWriter(&sysErr, stdcopy.Systemerr).Write([]byte("container gone"))
	cases := []struct {
		name, want string
		stream     []byte
	}{
		{"engine error", "error from the engine in the stream: container gone", append(append([]byte{}, good...), sysErr.Bytes()...)},
		{"unknown stream", "unknown stream 7", append(append([]byte{}, good...), 7, 0, 0, 0, 0, 0, 0, 1, 'x')},
		{"cut payload", io.ErrUnexpectedEOF.Error(), good[:len(good)-2]},
		{"cut header", io.ErrUnexpectedEOF.Error(), append(append([]byte{}, good...), 1, 0, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tk taker
			err := demux(&tk, io.Discard, bytes.NewReader(c.stream))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %q", err, c.want)
			}
			if c.name != "cut payload" && tk.got.String() != "line\n" {
				t.Fatalf("stdout %q before the failure, want %q", tk.got.String(), "line\n")
			}
		})
	}
}

// TestDemuxStderrFailure: a stderr writer's failure ends the output with
// its error.
func TestDemuxStderrFailure(t *testing.T) {
	boom := errors.New("log full")
	var tk taker
	err := demux(&tk, failingWriter{boom}, bytes.NewReader(frames(t, "a\n", "b\n", "c\n")))
	if !errors.Is(err, boom) || tk.got.String() != "a\n" {
		t.Fatalf("error %v, stdout %q; want %v after %q", err, tk.got.String(), boom, "a\n")
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }
