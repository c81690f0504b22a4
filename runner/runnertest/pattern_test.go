package runnertest

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestPatternRoundTrip verifies that what PatternReader produces passes
// PatternChecker, whatever the chunking.
func TestPatternRoundTrip(t *testing.T) {
	for _, chunk := range []int{1, 7, 11, 4096} {
		c := &PatternChecker{LineLen: 20}
		var r io.Reader = NewPatternReader(500, 20)
		if chunk == 1 {
			r = iotest.OneByteReader(r)
		}
		buf := make([]byte, chunk)
		if _, err := io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{r}, buf); err != nil {
			t.Fatal(err)
		}
		if err := c.Check(500); err != nil {
			t.Errorf("chunk %d: %v", chunk, err)
		}
	}
}

// TestPatternCheckerCatches verifies that the checker reports lost,
// repeated, corrupted and truncated output.
func TestPatternCheckerCatches(t *testing.T) {
	good, _ := io.ReadAll(NewPatternReader(3, 16))
	lines := strings.SplitAfter(string(good), "\n")
	for _, tc := range []struct {
		name, stream, want string
	}{
		{"lost line", lines[0] + lines[2], "line 1: line number"},
		{"repeated line", lines[0] + lines[0] + lines[1] + lines[2], "line 1: line number"},
		{"corrupted byte", strings.Replace(string(good), "xxxxx\n", "xxyxx\n", 1), "byte 'y'"},
		{"missing newline", strings.Replace(string(good), "x\n", "xx", 1), "want '\\n'"},
		{"truncated", string(good[:len(good)-3]), "got 2 lines and 13 bytes, want 3 lines"},
	} {
		c := &PatternChecker{LineLen: 16}
		c.Write([]byte(tc.stream))
		if err := c.Check(3); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	c := &PatternChecker{LineLen: 16}
	c.Write(good)
	if err := c.Check(3); err != nil {
		t.Errorf("good stream: got %v, want nil", err)
	}
	if !bytes.HasPrefix(good, []byte("0000000000xxxxx\n")) {
		t.Errorf("pattern: got %q, want lines like 0000000000xxxxx", good[:16])
	}
}
