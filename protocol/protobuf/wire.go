package protobuf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrysync/ferry/protocol"
)

// prepareMeta validates the meta and computes its encoded size.
func (e *recordEncoder) prepareMeta() error {
	if e.meta == nil {
		return nil
	}
	n := 0
	for _, c := range e.meta.Changes {
		cs, err := changeSize(c)
		if err != nil {
			return err
		}
		n += 1 + protowire.SizeBytes(cs)
	}
	e.metaSize = n
	return nil
}

func changeCodes(c protocol.RecordChange) (change, reason int, err error) {
	switch c.Change {
	case protocol.ChangeNulled:
	case protocol.ChangeTruncated:
		change = 1
	default:
		return 0, 0, fmt.Errorf("record meta: unknown change %q", c.Change)
	}
	for i, r := range protocol.RecordChangeReasons {
		if r == c.Reason {
			return change, i, nil
		}
	}
	return 0, 0, fmt.Errorf("record meta: unknown change reason %q", c.Reason)
}

func changeSize(c protocol.RecordChange) (int, error) {
	change, reason, err := changeCodes(c)
	if err != nil {
		return 0, err
	}
	if !utf8.ValidString(c.Field) {
		return 0, errors.New("record meta: field is not valid UTF-8")
	}
	n := 0
	if c.Field != "" {
		n += 1 + protowire.SizeBytes(len(c.Field))
	}
	if change != 0 {
		n += 1 + protowire.SizeVarint(uint64(change))
	}
	if reason != 0 {
		n += 1 + protowire.SizeVarint(uint64(reason))
	}
	return n, nil
}

// appendTo writes the record message body. size must have run since the
// values last changed: it caches each value's size.
func (e *recordEncoder) appendTo(b []byte) []byte {
	if e.hasNamespace {
		b = append(b, byte(recNamespace)<<3|byte(protowire.BytesType))
		b = appendBytes(b, e.namespace)
	}
	if len(e.stream) > 0 {
		b = append(b, byte(recStream)<<3|byte(protowire.BytesType))
		b = appendBytes(b, e.stream)
	}
	if e.emittedAt != 0 {
		b = append(b, byte(recEmittedAt)<<3|byte(protowire.VarintType))
		b = appendVarint(b, e.emittedAt)
	}
	if len(e.partitionID) > 0 {
		b = append(b, byte(recPartitionID)<<3|byte(protowire.BytesType))
		b = appendBytes(b, e.partitionID)
	}
	for i := range e.vals {
		if v := &e.vals[i]; v.c == fieldString && v.form == 0 && v.text == nil && len(v.s) >= 0x7e {
			// A long plain string: its size is known, so it is copied
			// once, after its lengths, instead of moved to make room.
			b = append(b, tagRecData)
			b = appendVarint(b, uint64(1+protowire.SizeVarint(uint64(len(v.s)))+len(v.s)))
			b = append(b, fieldString<<3|byte(protowire.BytesType))
			b = appendBytes(b, v.s)
			continue
		}
		if out, ok := appendValueWire(b, &e.vals[i]); ok {
			b = out
			continue
		}
		// Each value goes after a one-byte length, which nearly every
		// value fits; a longer one moves to make room for its length.
		b = append(b, tagRecData, 0)
		at := len(b)
		b = e.vals[i].appendTo(b)
		if n := len(b) - at; n < 0x80 {
			b[at-1] = byte(n) // setLength, inlined for the common case
		} else {
			b = setLength(b, at)
		}
	}
	if e.meta != nil {
		b = append(b, byte(recMeta)<<3|byte(protowire.BytesType))
		b = appendVarint(b, uint64(e.metaSize))
		for _, c := range e.meta.Changes {
			change, reason, _ := changeCodes(c)
			cs, _ := changeSize(c)
			b = append(b, byte(1)<<3|byte(protowire.BytesType))
			b = appendVarint(b, uint64(cs))
			if c.Field != "" {
				b = append(b, byte(1)<<3|byte(protowire.BytesType))
				b = protowire.AppendString(b, c.Field)
			}
			if change != 0 {
				b = append(b, byte(2)<<3|byte(protowire.VarintType))
				b = appendVarint(b, uint64(change))
			}
			if reason != 0 {
				b = append(b, byte(3)<<3|byte(protowire.VarintType))
				b = appendVarint(b, uint64(reason))
			}
		}
	}
	return e.appendRecordExt(b)
}

// finish validates the header strings and the meta, which protobuf
// requires to be UTF-8.
func (e *recordEncoder) finish() error {
	if !validText(e.stream) || !validText(e.namespace) || !validText(e.partitionID) {
		return errors.New("record stream, namespace or partition_id is not valid UTF-8")
	}
	return e.prepareMeta()
}

// setLength writes the length of b[at:] as the varint that b[at-1], a
// byte left for it, starts; a length over one byte moves b[at:] up.
func setLength(b []byte, at int) []byte {
	n := len(b) - at
	if n < 0x80 {
		b[at-1] = byte(n)
		return b
	}
	k := protowire.SizeVarint(uint64(n))
	b = append(b, envelopeRoom[:k-1]...)
	copy(b[at+k-1:], b[at:at+n])
	protowire.AppendVarint(b[at-1:at-1], uint64(n))
	return b
}

// appendVarint is protowire.AppendVarint with the one-byte case inlined:
// nearly every length and small integer of a record is under 128.
func appendVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}

// appendBytes is protowire.AppendBytes through appendVarint.
func appendBytes(b, v []byte) []byte {
	return append(appendVarint(b, uint64(len(v))), v...)
}

// validText is utf8.Valid, with the short ASCII strings most values are
// checked eight bytes at a time without a call. From about 100 bytes on,
// utf8.Valid's own ASCII loop is the faster (5x on a 5 KB string).
func validText(b []byte) bool {
	if len(b) >= 96 {
		return utf8.Valid(b)
	}
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			return utf8.Valid(b[i:])
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			return utf8.Valid(b[i:])
		}
	}
	return true
}
