package runner

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// TestForwardRunsKeepEveryByte holds the pump's forwarding of records
// straight from its read buffer (destinationInput.forward) to the bytes
// it wrote before: the source writes in odd small pieces into a reader
// whose buffer holds only a few lines, so runs of records end at every
// place a refill can fall; CRLF line ends, blank and LOG lines, a state,
// and a last record without a newline break the runs. The destination
// must get each record once, in order, ending in exactly "\n", and the
// state where the source put it.
func TestForwardRunsKeepEveryByte(t *testing.T) {
	var src bytes.Buffer
	var want []string
	for i := 1; i <= 60; i++ {
		rec := recordLine("users", i)
		switch {
		case i%7 == 0:
			src.WriteString(rec + "\r\n")
		case i%11 == 0:
			src.WriteString("\n  \n" + `{"type":"LOG","log":{"level":"INFO","message":"m"}}` + "\n" + rec + "\n")
		default:
			src.WriteString(rec + "\n")
		}
		want = append(want, rec)
		if i == 30 {
			src.WriteString(streamStateLine("users", 30) + "\n")
			want = append(want, "STATE") // as the ledger forwards it, with its id and count
		}
	}
	last := recordLine("users", 61)
	src.WriteString(last) // no newline at the end of the output
	want = append(want, last)
	input := src.Bytes()

	var got bytes.Buffer
	source := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		for off, k := 0, 0; off < len(input); k++ {
			n := min(1+k*37%173, len(input)-off)
			if _, err := stdio.Out.Write(input[off : off+n]); err != nil {
				return ExitStatus{Code: 1}, nil
			}
			off += n
		}
		return ExitStatus{}, nil
	}
	dest := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		_, err := io.Copy(&got, stdio.In)
		return ExitStatus{}, err
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.MaxLineBytes = 400 // a read buffer of 401 bytes: four records at most
	res, err := Sync(context.Background(), &FakeRuntime{Source: source, Destination: dest}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.RecordsEmitted != 61 {
		t.Fatalf("records emitted: %d, want 61", res.Stats.RecordsEmitted)
	}
	out := got.String()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("the destination's input does not end in a newline: %q", out[max(0, len(out)-80):])
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, `{"type":"TRACE"`): // the COMPLETE statuses at the end
		case strings.HasPrefix(l, `{"type":"STATE"`) && strings.Contains(l, `"cursor":30`):
			lines = append(lines, "STATE")
		default:
			lines = append(lines, l)
		}
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the destination got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
