package protobuf

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// generalValueJSON is the general path: the value decoded to a pvalue, then
// written.
func generalValueJSON(body []byte) (out []byte, present bool, err error) {
	v, err := decodeValue(body)
	if err != nil || v.c == 0 {
		return nil, false, err
	}
	out, err = appendValueJSON([]byte("x"), &v)
	return out, true, err
}

// checkDirect fails t unless appendValue and the general path agree on
// body: the same bytes, the same presence, the same error.
func checkDirect(t *testing.T, body []byte) {
	t.Helper()
	want, wantPresent, wantErr := generalValueJSON(body)
	got, present, err := appendValue([]byte("x"), body)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("body %x: error %v, general path %v", body, err, wantErr)
	}
	if err != nil {
		return
	}
	if present != wantPresent {
		t.Fatalf("body %x: present %v, general path %v", body, present, wantPresent)
	}
	if present && !bytes.Equal(got, want) {
		t.Fatalf("body %x: %s, general path %s", body, got, want)
	}
	if !present && string(got) != "x" {
		t.Fatalf("body %x: absent but wrote %q", body, got)
	}
}

// TestDirectValueMatches compares the direct writer with the general path
// on the values of the test records, on hand-made edge cases, and on many
// generated bodies: valid members of every kind, extensions, repeated and
// switching members, wrong wire types, bad UTF-8 and truncations.
func TestDirectValueMatches(t *testing.T) {
	bodies := directSeeds(t)
	if len(bodies) < 10000 {
		t.Fatalf("only %d bodies", len(bodies))
	}
	for _, b := range bodies {
		checkDirect(t, b)
	}
}

// FuzzDirectValue compares the two paths on arbitrary bodies.
func FuzzDirectValue(f *testing.F) {
	for i, b := range directSeeds(f) {
		if i%50 == 0 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkDirect(t, body) })
}

// directSeeds returns the value bodies of the test records, the value
// decoding cases, and generated bodies.
func directSeeds(t testing.TB) [][]byte {
	var out [][]byte
	c := fuzzCatalog(t)
	lines, err := os.ReadFile(filepath.Join("testdata", "proto_records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(lines), []byte("\n")) {
		msg, _, err := c.AppendMessageProto(nil, line)
		if err != nil {
			continue // not a record of the catalog
		}
		out = append(out, recordValues(t, msg)...)
	}
	for _, v := range []proto.Message{pbNull(), pbAbsent(), pbString("é\"\\\n"), pbNumber(math.NaN()),
		withForm(pbTimestampTZ(1, 5e8, 3600), offsetColon|formNegZero|sepLowerT|formNoSeconds),
		withText(pbString("é"), `"\u00e9"`), pbJSON("{\n \"a\": [1, 2]\n}"), pbBigDec("1.5E+10")} {
		b, err := proto.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	r := rand.New(rand.NewPCG(17, 4))
	for range 20000 {
		out = append(out, randomValue(r))
	}
	return out
}

// recordValues returns the data values of a framed-less record message,
// found by walking AirbyteProtobufMessage and its record.
func recordValues(t testing.TB, msg []byte) [][]byte {
	var out [][]byte
	for len(msg) > 0 {
		f, n, err := nextField(msg)
		if err != nil {
			t.Fatal(err)
		}
		msg = msg[n:]
		if f.typ != protowire.BytesType {
			continue
		}
		for rec := f.b; len(rec) > 0; {
			g, m, err := nextField(rec)
			if err != nil {
				break // not a record body
			}
			rec = rec[m:]
			if g.num == recData && g.typ == protowire.BytesType {
				out = append(out, g.b)
			}
		}
	}
	return out
}

// randomValue builds a value body of one to four fields, mostly valid.
func randomValue(r *rand.Rand) []byte {
	var b []byte
	for range 1 + r.IntN(4) {
		b = appendRandomField(b, r)
	}
	if r.IntN(20) == 0 && len(b) > 0 {
		b = b[:r.IntN(len(b))] // truncated
	}
	return b
}

func appendRandomField(b []byte, r *rand.Rand) []byte {
	num := protowire.Number(1 + r.IntN(13))
	switch r.IntN(12) {
	case 0:
		num = [...]protowire.Number{extAbsent, extForm, extText, 40, 2000}[r.IntN(5)]
	case 1:
		num = fieldIsNull
	}
	typ, ok := wireTypeOf(num)
	if !ok || r.IntN(15) == 0 {
		typ = [...]protowire.Type{protowire.VarintType, protowire.BytesType, protowire.Fixed64Type, protowire.Fixed32Type}[r.IntN(4)]
	}
	b = protowire.AppendTag(b, num, typ)
	switch typ {
	case protowire.VarintType:
		return protowire.AppendVarint(b, randomVarint(r, num))
	case protowire.Fixed64Type:
		return protowire.AppendFixed64(b, randomFixed64(r))
	case protowire.Fixed32Type:
		return protowire.AppendFixed32(b, r.Uint32())
	}
	return protowire.AppendBytes(b, randomBytes(r, num))
}

// wireTypeOf is a field's declared wire type, for the value's members and
// Ferry's extensions.
func wireTypeOf(num protowire.Number) (protowire.Type, bool) {
	switch num {
	case extAbsent, extForm:
		return protowire.VarintType, true
	case extText:
		return protowire.BytesType, true
	}
	for _, typ := range []protowire.Type{protowire.VarintType, protowire.BytesType, protowire.Fixed64Type} {
		if valueWireType(num, typ) {
			return typ, true
		}
	}
	return 0, false
}

func randomVarint(r *rand.Rand, num protowire.Number) uint64 {
	switch {
	case num == extForm && r.IntN(4) > 0:
		return uint64(r.IntN(int(formAll) + 1))
	case num == fieldTimeNoTZ && r.IntN(4) > 0:
		return r.Uint64N(nanosPerDay)
	case num == fieldDate && r.IntN(4) > 0:
		return protowire.EncodeZigZag(r.Int64N(200000) - 100000)
	case r.IntN(3) == 0:
		return uint64(r.IntN(2))
	}
	return r.Uint64() >> r.IntN(64)
}

func randomFixed64(r *rand.Rand) uint64 {
	switch r.IntN(6) {
	case 0:
		return math.Float64bits(math.NaN())
	case 1:
		return math.Float64bits(math.Inf(1 - 2*r.IntN(2)))
	case 2:
		return math.Float64bits(float64(r.IntN(1e6)) / 100)
	}
	return r.Uint64()
}

var randomTexts = []string{"", "a", "é", "\xff", "12", "-3.5e7", "1.5E+10", "x\"y", `"a"`, `"\u00e9"`,
	`{"a":1}`, "[1,\n2]", "nul", " true ", `"a"x`}

func randomBytes(r *rand.Rand, num protowire.Number) []byte {
	if (num == fieldTimeTZ || num == fieldTimestampTZ || num == fieldTimestamp) && r.IntN(6) > 0 {
		var b []byte
		for range r.IntN(4) {
			sub := protowire.Number(1 + r.IntN(3))
			if r.IntN(10) == 0 {
				b = protowire.AppendTag(b, sub, protowire.BytesType)
				b = protowire.AppendBytes(b, []byte("x"))
				continue
			}
			b = protowire.AppendTag(b, sub, protowire.VarintType)
			switch r.IntN(3) {
			case 0:
				b = protowire.AppendVarint(b, protowire.EncodeZigZag(r.Int64N(1e10)-5e9))
			case 1:
				b = protowire.AppendVarint(b, r.Uint64N(nanosPerDay))
			default:
				b = protowire.AppendVarint(b, r.Uint64()>>r.IntN(64))
			}
		}
		return b
	}
	return []byte(randomTexts[r.IntN(len(randomTexts))])
}
