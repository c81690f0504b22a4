package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
	"github.com/ferrysync/ferry/protocol/protocoltest"
)

func TestScanEnvelope(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		typ       Type
		stream    string
		namespace string
		wantErr   bool
	}{
		{name: "record", line: `{"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":1}}`, typ: TypeRecord, stream: "users"},
		{name: "record with namespace", line: `{"type":"RECORD","record":{"namespace":"public","stream":"users","data":{},"emitted_at":1}}`, typ: TypeRecord, stream: "users", namespace: "public"},
		{name: "type after record", line: `{"record":{"stream":"s","data":{}},"type":"RECORD"}`, typ: TypeRecord, stream: "s"},
		{name: "whitespace everywhere", line: " \t{ \"type\" : \"RECORD\" , \"record\" : { \"stream\" : \"s\" , \"data\" : { \"a\" : [ 1 , 2 ] } } } \r", typ: TypeRecord, stream: "s"},
		{name: "escaped stream", line: `{"type":"RECORD","record":{"stream":"a\"b\\c\u00e9\ud83d\ude00","data":{}}}`, typ: TypeRecord, stream: "a\"b\\cé😀"},
		{name: "escaped keys", line: `{"t\u0079pe":"RECORD","rec\u006frd":{"str\u0065am":"s","data":{}}}`, typ: TypeRecord, stream: "s"},
		{name: "escaped type value", line: `{"type":"REC\u004fRD","record":{"stream":"s","data":{}}}`, typ: TypeRecord, stream: "s"},
		{name: "stream key inside data is not the stream", line: `{"type":"RECORD","record":{"data":{"stream":"inner","namespace":"x"},"stream":"outer"}}`, typ: TypeRecord, stream: "outer"},
		{name: "type key nested is not the type", line: `{"log":{"type":"RECORD"},"type":"LOG"}`, typ: TypeLog},
		{name: "deep nested data", line: `{"type":"RECORD","record":{"stream":"s","data":{"a":{"b":{"c":[[[{"d":null}]]]}}}}}`, typ: TypeRecord, stream: "s"},
		{name: "strings with structural characters", line: `{"type":"RECORD","record":{"stream":"s","data":{"x":"}]{[,:\"","y":"\\"}}}`, typ: TypeRecord, stream: "s"},
		{name: "numbers", line: `{"type":"TRACE","trace":{"type":"ESTIMATE","emitted_at":1.7e12,"x":[-0,0.5,1E+2,-1e-2,12345678901234567890]}}`, typ: TypeTrace},
		{name: "duplicate stream: last wins", line: `{"type":"RECORD","record":{"stream":"a","stream":"b","data":{}}}`, typ: TypeRecord, stream: "b"},
		{name: "non-string stream ignored", line: `{"type":"RECORD","record":{"stream":5,"data":{}}}`, typ: TypeRecord},
		{name: "record null", line: `{"type":"RECORD","record":null}`, typ: TypeRecord},
		{name: "state", line: `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"}}}}`, typ: TypeState},
		{name: "stream of a non-record is not reported", line: `{"type":"STATE","record":{"stream":"x"}}`, typ: TypeState},
		{name: "unknown type", line: `{"type":"HEARTBEAT","heartbeat":{}}`, typ: "HEARTBEAT"},
		{name: "unicode line separator", line: "{\"type\":\"LOG\",\"log\":{\"level\":\"INFO\",\"message\":\"a\u2028b\"}}", typ: TypeLog},
		{name: "long string", line: `{"type":"LOG","log":{"message":"` + strings.Repeat("abcdefgh", 100) + `x"}}`, typ: TypeLog},
		{name: "utf-8 in strings", line: `{"type":"LOG","log":{"message":"héllo wörld ✓ 😀"}}`, typ: TypeLog},

		{name: "empty", line: ``, wantErr: true},
		{name: "blank", line: `   `, wantErr: true},
		{name: "not json", line: `Starting source...`, wantErr: true},
		{name: "array", line: `[{"type":"RECORD"}]`, wantErr: true},
		{name: "string", line: `"RECORD"`, wantErr: true},
		{name: "number", line: `42`, wantErr: true},
		{name: "null", line: `null`, wantErr: true},
		{name: "no type", line: `{"record":{"stream":"s"}}`, wantErr: true},
		{name: "type not a string", line: `{"type":1}`, wantErr: true},
		{name: "type null", line: `{"type":null}`, wantErr: true},
		{name: "truncated", line: `{"type":"RECORD","record":{"stream":"s","data":{"a":`, wantErr: true},
		{name: "trailing data", line: `{"type":"LOG"} {"type":"LOG"}`, wantErr: true},
		{name: "trailing comma", line: `{"type":"LOG",}`, wantErr: true},
		{name: "trailing comma in data", line: `{"type":"RECORD","record":{"stream":"s","data":{"a":1,}}}`, wantErr: true},
		{name: "missing colon", line: `{"type" "LOG"}`, wantErr: true},
		{name: "single quotes", line: `{'type':'LOG'}`, wantErr: true},
		{name: "unquoted key", line: `{type:"LOG"}`, wantErr: true},
		{name: "mismatched brackets", line: `{"type":"RECORD","record":{"stream":"s","data":{"a":[1}}}`, wantErr: true},
		{name: "raw newline in string", line: "{\"type\":\"LOG\",\"log\":{\"message\":\"a\nb\"}}", wantErr: true},
		{name: "raw tab in string", line: "{\"type\":\"LOG\",\"log\":{\"message\":\"a\tb\"}}", wantErr: true},
		{name: "bad escape", line: `{"type":"LOG","log":{"message":"\x"}}`, wantErr: true},
		{name: "bad unicode escape", line: `{"type":"LOG","log":{"message":"\u12g4"}}`, wantErr: true},
		{name: "unterminated string", line: `{"type":"LOG","log":{"message":"abc`, wantErr: true},
		{name: "escape at end", line: `{"type":"LOG","log":{"message":"abc\`, wantErr: true},
		{name: "bad number", line: `{"type":"LOG","n":01}`, wantErr: true},
		{name: "bad fraction", line: `{"type":"LOG","n":1.}`, wantErr: true},
		{name: "bad exponent", line: `{"type":"LOG","n":1e}`, wantErr: true},
		{name: "plus number", line: `{"type":"LOG","n":+1}`, wantErr: true},
		{name: "NaN", line: `{"type":"LOG","n":NaN}`, wantErr: true},
		{name: "bad literal", line: `{"type":"LOG","n":tru}`, wantErr: true},
		{name: "too deep", line: `{"type":"LOG","x":` + strings.Repeat("[", jsonscan.MaxDepth+1) + strings.Repeat("]", jsonscan.MaxDepth+1) + `}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ScanEnvelope([]byte(tt.line))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ScanEnvelope(%.80q) = type %q, want an error", tt.line, env.Type)
				}
				if !errors.Is(err, ErrNotMessage) {
					t.Errorf("error %v does not wrap ErrNotMessage", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ScanEnvelope(%.80q): %v", tt.line, err)
			}
			if env.Type != tt.typ || env.Stream != tt.stream || env.Namespace != tt.namespace {
				t.Errorf("got type %q stream %q namespace %q, want %q %q %q", env.Type, env.Stream, env.Namespace, tt.typ, tt.stream, tt.namespace)
			}
			if string(env.Raw) != tt.line {
				t.Errorf("Raw = %q, want the line", env.Raw)
			}
			// Whatever ScanEnvelope accepts, encoding/json must accept.
			if !json.Valid([]byte(tt.line)) {
				t.Errorf("ScanEnvelope accepted a line encoding/json rejects")
			}
		})
	}
}

// TestScanEnvelopeAgreesWithJSONValid checks the scanner's syntax checks
// against encoding/json on every prefix of some lines: truncation at any
// byte must be rejected exactly when encoding/json rejects it.
func TestScanEnvelopeAgreesWithJSONValid(t *testing.T) {
	lines := []string{
		`{"type":"RECORD","record":{"stream":"s","data":{"a":"x\"y\\z\u00e9","b":[1,-2.5e-3,true,false,null,{}],"c":{}},"emitted_at":1}}`,
		`{"type":"LOG","log":{"level":"INFO","message":"héllo"}}`,
	}
	for _, line := range lines {
		for i := 0; i <= len(line); i++ {
			p := []byte(line[:i])
			_, err := ScanEnvelope(p)
			valid := json.Valid(p) && bytes.HasPrefix(bytes.TrimSpace(p), []byte("{"))
			if (err == nil) != valid {
				t.Errorf("ScanEnvelope(%q) error = %v, but json.Valid = %t", p, err, valid)
			}
		}
	}
}

func TestScanEnvelopeAllocations(t *testing.T) {
	line := protocoltest.ProductLines(1)[0]
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ScanEnvelope(line); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 { // the stream name
		t.Errorf("ScanEnvelope allocates %v times per line, want at most 1", allocs)
	}
}

func readAll(t *testing.T, r *Reader) (lines []string, errs []error) {
	t.Helper()
	for {
		line, err := r.ReadLine()
		if err == io.EOF {
			return lines, errs
		}
		if err != nil {
			var tl *LineTooLongError
			if !errors.As(err, &tl) {
				t.Fatalf("ReadLine: %v", err)
			}
			errs = append(errs, err)
			lines = append(lines, "<too long>")
			continue
		}
		lines = append(lines, string(line))
	}
}

func TestReaderLines(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{name: "empty", input: "", want: nil},
		{name: "one line", input: "a\n", want: []string{"a"}},
		{name: "final line without newline", input: "a\nb", want: []string{"a", "b"}},
		{name: "crlf", input: "a\r\nb\r\n", want: []string{"a", "b"}},
		{name: "crlf final without newline keeps cr", input: "a\r\nb\r", want: []string{"a", "b\r"}},
		{name: "blank lines", input: "\n\na\n\n", want: []string{"", "", "a", ""}},
		{name: "lone cr inside a line", input: "a\rb\n", want: []string{"a\rb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := readAll(t, NewReader(strings.NewReader(tt.input), 0))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReaderOneByteReads feeds the reader one byte at a time, so every line
// spans many fills.
func TestReaderOneByteReads(t *testing.T) {
	input := "first\r\n" + strings.Repeat("x", 100) + "\n\nlast"
	r := NewReader(iotest.OneByteReader(strings.NewReader(input)), 50)
	got, errs := readAll(t, r)
	want := []string{"first", "<too long>", "", "last"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if len(errs) != 1 {
		t.Fatalf("got %d errors, want 1", len(errs))
	}
	if r.LineNumber() != 4 {
		t.Errorf("LineNumber = %d, want 4", r.LineNumber())
	}
}

// TestReaderBeforeFill checks what a forwarder that writes runs of lines
// from the reader's buffer relies on: the hook runs before every read,
// the lines returned since the last one are still intact then, and each
// lies right after the one before, after its line end.
func TestReaderBeforeFill(t *testing.T) {
	input := "alpha\nbeta\r\ngamma\n" + strings.Repeat("d", 40) + "\nepsilon\nz"
	r := NewReader(iotest.HalfReader(strings.NewReader(input)), 30)
	var held [][]byte // lines returned since the last fill, with their copies
	var copies []string
	fills := 0
	r.SetBeforeFill(func() {
		fills++
		for i, l := range held {
			if string(l) != copies[i] {
				t.Fatalf("before fill %d: line %q became %q", fills, copies[i], l)
			}
			if i > 0 {
				prev := held[i-1]
				end := len(prev) + 1
				if prev[:end][end-1] != '\n' && prev[:end+1][end] != '\n' {
					t.Fatalf("line %q is not followed by its line end", prev)
				}
			}
		}
		held, copies = nil, nil
	})
	var got []string
	for {
		line, err := r.ReadLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			got = append(got, "<"+err.Error()+">")
			held, copies = nil, nil // an over-long line is not in the buffer
			continue
		}
		got = append(got, string(line))
		held, copies = append(held, line), append(copies, string(line))
	}
	want := []string{"alpha", "beta", "gamma", "<line 4 is 40 bytes, over the 30-byte limit (max_line_bytes)>", "epsilon", "z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if fills < 4 {
		t.Errorf("%d fills; the test wants several", fills)
	}
}

func TestReaderLimit(t *testing.T) {
	const limit = 1000
	tests := []struct {
		name    string
		input   string
		want    []string
		tooLong int64 // Size of the over-long line, 0 if none
	}{
		{name: "exactly the limit", input: strings.Repeat("a", limit) + "\nnext\n", want: []string{strings.Repeat("a", limit), "next"}},
		// The \r counts: the limit bounds the bytes held, not the text.
		{name: "exactly the limit with crlf", input: strings.Repeat("a", limit) + "\r\nnext\n", want: []string{"<too long>", "next"}, tooLong: limit + 1},
		{name: "one over", input: strings.Repeat("a", limit+1) + "\nnext\n", want: []string{"<too long>", "next"}, tooLong: limit + 1},
		{name: "far over, last line", input: "first\n" + strings.Repeat("a", 10*limit), want: []string{"first", "<too long>"}, tooLong: 10 * limit},
		{name: "over, then more", input: strings.Repeat("b", 3*limit) + "\n" + strings.Repeat("c", limit) + "\n", want: []string{"<too long>", strings.Repeat("c", limit)}, tooLong: 3 * limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := readAll(t, NewReader(strings.NewReader(tt.input), limit))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if tt.tooLong == 0 {
				if len(errs) != 0 {
					t.Fatalf("got errors %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1", len(errs))
			}
			var tl *LineTooLongError
			errors.As(errs[0], &tl)
			if tl.Limit != limit || tl.Size != tt.tooLong {
				t.Errorf("got limit %d size %d, want %d %d", tl.Limit, tl.Size, limit, tt.tooLong)
			}
			if !strings.Contains(tl.Error(), "1000-byte limit") {
				t.Errorf("error %q does not name the limit", tl.Error())
			}
			if len(tl.Prefix) == 0 || len(tl.Prefix) > 1024 {
				t.Errorf("Prefix has %d bytes, want 1..1024", len(tl.Prefix))
			}
		})
	}
}

// TestReaderHugeLine reads a 30 MB record under the default 64 MiB limit,
// then a line over a 16 MiB limit, which is skipped without holding it in
// memory; the next line still reads.
func TestReaderHugeLine(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates tens of MB")
	}
	big := make([]byte, 30<<20)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	record := append(append([]byte(`{"type":"RECORD","record":{"stream":"big","data":{"blob":"`), big...), `"},"emitted_at":1}}`...)
	input := io.MultiReader(bytes.NewReader(record), strings.NewReader("\n"+`{"type":"LOG","log":{"level":"INFO","message":"after"}}`+"\n"))
	r := NewReader(input, DefaultMaxLineBytes)
	line, err := r.ReadLine()
	if err != nil {
		t.Fatalf("ReadLine of a 30 MB line: %v", err)
	}
	if !bytes.Equal(line, record) {
		t.Fatalf("got %d bytes, want the %d-byte record", len(line), len(record))
	}
	env, err := ScanEnvelope(line)
	if err != nil || env.Stream != "big" {
		t.Fatalf("ScanEnvelope = %+v, %v", env, err)
	}
	if line, err = r.ReadLine(); err != nil || !bytes.Contains(line, []byte("after")) {
		t.Fatalf("next line = %.40q, %v", line, err)
	}

	// Over the limit: a *LineTooLongError naming it, then the next line.
	input = io.MultiReader(bytes.NewReader(record), strings.NewReader("\nnext\n"))
	r = NewReader(input, 16<<20)
	_, err = r.ReadLine()
	var tl *LineTooLongError
	if !errors.As(err, &tl) {
		t.Fatalf("ReadLine error = %v, want *LineTooLongError", err)
	}
	if tl.Limit != 16<<20 || tl.Size != int64(len(record)) || tl.Line != 1 {
		t.Errorf("got limit %d size %d line %d, want %d %d 1", tl.Limit, tl.Size, tl.Line, 16<<20, len(record))
	}
	if !strings.Contains(err.Error(), "16777216-byte limit") {
		t.Errorf("error %q does not name the limit", err)
	}
	if cap(r.buf) > 17<<20 {
		t.Errorf("reader holds a %d-byte buffer after skipping, want at most about the limit", cap(r.buf))
	}
	if line, err := r.ReadLine(); err != nil || string(line) != "next" {
		t.Errorf("after the long line got %q, %v; want \"next\"", line, err)
	}
}

// TestReaderReadError passes a read error through and does not report it as
// a line.
func TestReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("a\npart"), iotest.ErrReader(boom)), 0)
	if line, err := r.ReadLine(); err != nil || string(line) != "a" {
		t.Fatalf("first line = %q, %v", line, err)
	}
	if _, err := r.ReadLine(); !errors.Is(err, boom) {
		t.Errorf("second read error = %v, want boom", err)
	}
}

func TestNonProtocolLog(t *testing.T) {
	l := NonProtocolLog("source-faker", []byte("Starting up"))
	if l.Level != LevelInfo || l.Message != "source-faker: Starting up" {
		t.Errorf("got %+v", l)
	}
	l = NonProtocolLog("src", []byte(`{"type":"RECORD","record":{"stream":`))
	if l.Level != LevelWarn {
		t.Errorf("record-looking line logged at %s, want WARN", l.Level)
	}
	long := bytes.Repeat([]byte{0xff}, maxLogLineBytes+10)
	l = NonProtocolLog("src", long)
	if !ValidUTF8([]byte(l.Message)) || !strings.HasSuffix(l.Message, "[10 bytes truncated]") {
		t.Errorf("long invalid line gave %.60q...", l.Message)
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteMessage(NewLog(LevelInfo, "hi")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteLine([]byte(`{"type":"LOG","log":{"level":"INFO","message":"raw"}}`)); err != nil {
		t.Fatal(err)
	}
	if w.Buffered() == 0 || buf.Len() != 0 {
		t.Errorf("Buffered = %d with %d bytes written, want buffered output", w.Buffered(), buf.Len())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"LOG","log":{"level":"INFO","message":"hi"}}` + "\n" + `{"type":"LOG","log":{"level":"INFO","message":"raw"}}` + "\n"
	if got := buf.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestScanEnvelopeAfter(t *testing.T) {
	prev := &Envelope{Stream: `a\nb`, Namespace: "ns", PartitionID: "p1"}
	for _, line := range []string{
		`{"type":"RECORD","record":{"stream":"a\\nb","namespace":"ns","partition_id":"p1","data":{}}}`,
		`{"type":"RECORD","record":{"stream":"a\nb","namespace":"n\u0073","partition_id":"p2","data":{}}}`,
		`{"type":"RECORD","record":{"stream":"x","data":{}}}`,
		`{"type":"STATE","state":{}}`,
	} {
		want, werr := ScanEnvelope([]byte(line))
		got, gerr := ScanEnvelopeAfter([]byte(line), prev)
		if (werr == nil) != (gerr == nil) || got.Type != want.Type || got.Stream != want.Stream ||
			got.Namespace != want.Namespace || got.PartitionID != want.PartitionID {
			t.Errorf("%s: got %+v %v, want %+v %v", line, got, gerr, want, werr)
		}
	}
}

// TestReaderLongLineSizes reads lines around every boundary of the long
// line path (the bufio buffer, the reused buffer, the chunks), in an order
// where a long line is first shorter, then longer than the one before, and
// checks each byte for byte.
func TestReaderLongLineSizes(t *testing.T) {
	sizes := []int{0, 1, readerBufferSize - 1, readerBufferSize, readerBufferSize + 1,
		chunkSize + readerBufferSize/2, 3*chunkSize + 7, 100, 2 * chunkSize, chunkSize - 1, 3*chunkSize + 8, 5}
	var input bytes.Buffer
	var want []string
	for i, n := range sizes {
		line := bytes.Repeat([]byte{'a' + byte(i)}, n)
		if n > 2 {
			line[0], line[n-1] = '<', '>'
		}
		want = append(want, string(line))
		input.Write(line)
		input.WriteByte('\n')
	}
	got, errs := readAll(t, NewReader(iotest.HalfReader(&input), 0))
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %d bytes, want %d", i+1, len(got[i]), len(want[i]))
		}
	}
}

// TestReaderLongLineMemory is the memory bound of docs/protocol.md 3: a
// 50 MB line costs about its size in allocations (the chunks it waits in
// plus one buffer of its exact size), where growing a slice by append cost
// about five times it; a second line of that size reuses the buffer.
func TestReaderLongLineMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100 MB")
	}
	const size = 50 << 20
	line := bytes.Repeat([]byte{'x'}, size)
	input := io.MultiReader(bytes.NewReader(line), strings.NewReader("\n"), bytes.NewReader(line), strings.NewReader("\nend\n"))
	r := NewReader(input, 0)
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	read := func() {
		got, err := r.ReadLine()
		if err != nil || len(got) != size {
			t.Fatalf("ReadLine: %d bytes, %v; want %d", len(got), err, size)
		}
	}
	if a := allocated(read); a > 2*size+4<<20 {
		t.Errorf("the first 50 MB line allocated %d MiB, want at most about twice its size (%d MiB)", a>>20, 2*size>>20)
	}
	if a := allocated(read); a > 1<<20 {
		t.Errorf("the second 50 MB line allocated %d KiB, want its buffer reused", a>>10)
	}
	if got, err := r.ReadLine(); err != nil || string(got) != "end" {
		t.Errorf("last line = %q, %v", got, err)
	}
}
