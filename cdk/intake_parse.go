package cdk

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// msgParser classifies destination input into Inputs. The stdio intake
// has one, and so does every socket reader (each on its own goroutine).
// Records are only scanned, never decoded; a protobuf record is turned
// into the JSON line it stands for, so writers see one format.
type msgParser struct {
	// socket: records must carry a partition_id (docs/protocol.md 6.1).
	socket bool
	// cat places protobuf values; nil for JSONL.
	cat *protobuf.Catalog
	// keepProto hands protobuf records over as they are (ProtobufRecords).
	keepProto bool
	// unread hands records over without their bytes (RecordsUnread).
	unread bool
	// where names the current message in errors.
	where func() string

	// Protobuf records come in runs of one stream and one partition: the
	// last strings are reused instead of allocated per record.
	lastPID    string
	lastDesc   protocol.StreamDescriptor
	lastSchema *protobuf.RecordSchema // of lastDesc
	// scan reads JSONL envelopes, reusing the last record's strings the
	// same way, and its header (protocol.EnvelopeScanner).
	scan protocol.EnvelopeScanner
	// conv converts protobuf records to JSON on this parser's scratch.
	conv protobuf.Converter
}

// line classifies one JSON message.
func (p *msgParser) line(b *InputBatch, line []byte) error {
	if len(line) == 0 {
		return nil // a JSONL probe, or a blank line
	}
	env, err := p.scan.Scan(line)
	if err != nil {
		b.Inputs = append(b.Inputs, Input{Kind: InputOther, Line: append([]byte(nil), line[:min(len(line), otherLinePrefix)]...)})
		return nil
	}
	switch env.Type {
	case protocol.TypeRecord:
		if env.Stream == "" {
			return SystemError("%s: RECORD without a stream", p.where())
		}
		if p.socket && env.PartitionID == "" {
			return SystemError("%s: a record without partition_id (socket mode needs one on every record, docs/protocol.md 6.1)", p.where())
		}
		if p.unread {
			b.Inputs = append(b.Inputs, Input{Kind: InputRecord, Partition: env.PartitionID,
				Record: Record{Stream: env.Descriptor(), size: len(line)}})
			return nil
		}
		off := len(b.arena)
		b.arena = append(b.arena, line...)
		b.Inputs = append(b.Inputs, Input{Kind: InputRecord, Partition: env.PartitionID,
			Record: Record{Stream: env.Descriptor(), Line: b.arena[off:len(b.arena):len(b.arena)], spans: env.Spans}})
	case protocol.TypeState:
		m, err := protocol.Decode(line)
		if err != nil {
			return SystemError("%s: bad STATE: %w", p.where(), err)
		}
		if err := m.State.Validate(); err != nil {
			return SystemError("%s: %w", p.where(), err)
		}
		b.Inputs = append(b.Inputs, Input{Kind: InputState, State: m.State})
	case protocol.TypeTrace:
		m, err := protocol.Decode(line)
		if err == nil && m.Trace.StreamStatus != nil {
			b.Inputs = append(b.Inputs, Input{Kind: InputStreamStatus, Status: m.Trace.StreamStatus})
		}
	}
	return nil
}

// internPID returns the partition id, reusing the previous string when it
// is the same.
func (p *msgParser) internPID(pid []byte) string {
	if string(pid) != p.lastPID {
		p.lastPID = string(pid)
	}
	return p.lastPID
}

// frame classifies one AirbyteMessageProtobuf (without its length).
func (p *msgParser) frame(b *InputBatch, msg []byte) error {
	var member protowire.Number
	var text, rec []byte
	bodies := 0
	var ns, stream, pid []byte
	rest := msg
	if len(msg) > 1 && msg[0] == 1<<3|byte(protowire.BytesType) {
		// The common case: the message is one record and nothing else.
		if n, k := protowire.ConsumeVarint(msg[1:]); k > 0 && uint64(len(msg)-1-k) == n {
			rec = msg[1+k:]
			recordHeader(rec, &ns, &stream, &pid)
			member, bodies, rest = 1, 1, nil
		}
	}
	for len(rest) > 0 {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return SystemError("%s: bad protobuf message: %v", p.where(), protowire.ParseError(n))
		}
		rest = rest[n:]
		m := protowire.ConsumeFieldValue(num, typ, rest)
		if m < 0 {
			return SystemError("%s: bad protobuf message: %v", p.where(), protowire.ParseError(m))
		}
		if typ == protowire.BytesType && num >= 1 && num <= 3 {
			body, _ := protowire.ConsumeBytes(rest)
			member = num
			switch num {
			case 1:
				recordHeader(body, &ns, &stream, &pid)
				rec = body
				bodies++
			case 2:
				text = body
			}
		}
		rest = rest[m:]
	}
	switch member {
	case 2:
		return p.line(b, text)
	case 3:
		return nil // a probe: a heartbeat
	case 1:
	default:
		return SystemError("%s: an empty protobuf message: no record, protocol message or probe", p.where())
	}
	if p.socket && len(pid) == 0 {
		return SystemError("%s: a record without partition_id (socket mode needs one on every record, docs/protocol.md 6.1)", p.where())
	}
	if string(stream) != p.lastDesc.Name || string(ns) != p.lastDesc.Namespace || p.lastDesc.Name == "" {
		p.lastDesc = protocol.StreamDescriptor{Name: string(stream), Namespace: string(ns)}
		p.lastSchema = p.cat.Schema(p.lastDesc)
	}
	if p.unread && p.lastSchema != nil {
		// Nobody reads it: the stream (checked against the catalog) and
		// the size are all it needs.
		b.Inputs = append(b.Inputs, Input{Kind: InputRecord, Partition: p.internPID(pid),
			Record: Record{Stream: p.lastDesc, size: len(rec)}})
		return nil
	}
	off := len(b.arena)
	if schema := p.lastSchema; p.keepProto && schema != nil && bodies == 1 {
		// Hand the record over as it is. (A record split over several
		// bodies, which protobuf merges, is rare: it is converted.)
		b.arena = append(b.arena, rec...)
		b.Inputs = append(b.Inputs, Input{Kind: InputRecord, Partition: p.internPID(pid),
			Record: Record{Stream: p.lastDesc, Proto: b.arena[off:len(b.arena):len(b.arena)], schema: schema}})
		return nil
	}
	out, spans, err := p.conv.AppendMessageJSONSpans(p.cat, b.arena, msg)
	if err != nil {
		if errors.Is(err, protobuf.ErrUnknownStream) {
			return SystemError("%s: record for stream %s, which is not in the configured catalog", p.where(), p.lastDesc)
		}
		return SystemError("%s: bad protobuf record of stream %s: %v", p.where(), p.lastDesc, err)
	}
	b.arena = out
	b.Inputs = append(b.Inputs, Input{Kind: InputRecord, Partition: p.internPID(pid),
		Record: Record{Stream: p.lastDesc, Line: b.arena[off:len(b.arena):len(b.arena)], spans: spans}})
	return nil
}

// recordHeader reads the namespace, stream and partition_id of an
// AirbyteRecordMessageProtobuf body; a later occurrence wins, as protobuf
// merges repeated bodies. Malformed bodies are left to the full decoder.
// It runs for every record, over every value, so fields with a one-byte
// tag, which is nearly all of them, are skipped without the general
// decoding.
func recordHeader(body []byte, ns, stream, pid *[]byte) {
	for len(body) > 1 {
		// A run of values (data = 5) under 128 bytes each, the bulk of a
		// record, skipped in a tight loop.
		i := 0
		for i+1 < len(body) && body[i] == 5<<3|byte(protowire.BytesType) && body[i+1] < 0x80 && i+2+int(body[i+1]) <= len(body) {
			i += 2 + int(body[i+1])
		}
		body = body[i:]
		if len(body) < 2 {
			break
		}
		tag := body[0]
		if tag >= 0x80 {
			break // a field number over 15: the general path
		}
		switch protowire.Type(tag & 7) {
		case protowire.BytesType:
			n, k := uint64(body[1]), 1
			if n >= 0x80 {
				if n, k = protowire.ConsumeVarint(body[1:]); k < 0 {
					goto general
				}
			}
			if uint64(len(body)-1-k) < n {
				goto general
			}
			v := body[1+k : 1+k+int(n)]
			switch tag >> 3 {
			case 1:
				*ns = v
			case 2:
				*stream = v
			case 4:
				*pid = v
			}
			body = body[1+k+int(n):]
			continue
		case protowire.VarintType:
			i := 1
			for i < len(body) && i < 11 && body[i] >= 0x80 {
				i++
			}
			if i >= len(body) || i == 11 {
				goto general
			}
			body = body[i+1:]
			continue
		}
		break
	}
general:
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return
		}
		body = body[n:]
		m := protowire.ConsumeFieldValue(num, typ, body)
		if m < 0 {
			return
		}
		if typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(body)
			switch num {
			case 1:
				*ns = v
			case 2:
				*stream = v
			case 4:
				*pid = v
			}
		}
		body = body[m:]
	}
}
