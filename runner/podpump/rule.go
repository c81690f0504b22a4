package podpump

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ferrysync/ferry/protocol"
)

// Plan is what the pump needs to forward records as Ferry's own pump
// would: the first frame Ferry sends it.
type Plan struct {
	// Rules has one entry per configured stream, in the catalog's order;
	// counts name a stream by its index here.
	Rules []*Rule `json:"rules"`
	// DropUnknown drops records of streams outside the catalog instead of
	// failing the attempt.
	DropUnknown bool `json:"dropUnknown,omitempty"`
	// MaxLine is the longest line the source may write, in bytes.
	MaxLine int `json:"maxLine"`
}

// Rule is what happens to the records of one configured stream on their
// way to the destination: the checks and rewrites of stdio mode
// (docs/protocol.md 5.8). Ferry's pump and the in-pod pump both apply it,
// so a record reaches the destination with the same bytes either way.
type Rule struct {
	Source protocol.StreamDescriptor `json:"source"`
	// Dest is the stream's name on the destination side (prefix and
	// namespace mapping applied).
	Dest protocol.StreamDescriptor `json:"dest"`
	// Select is set when only the top-level fields in Selected are kept.
	Select   bool     `json:"select,omitempty"`
	Selected []string `json:"selected,omitempty"`
	// DedupKeys are the primary-key paths of an incremental dedup stream,
	// checked for all-null records; nil otherwise.
	DedupKeys [][]string `json:"dedupKeys,omitempty"`

	selected map[string]bool
}

// Prepare readies r for Apply once it is built or decoded.
func (r *Rule) Prepare() {
	r.selected = nil
	if r.Select {
		r.selected = make(map[string]bool, len(r.Selected))
		for _, f := range r.Selected {
			r.selected[f] = true
		}
	}
}

// SelectedSet is the set of top-level fields kept, nil for all.
func (r *Rule) SelectedSet() map[string]bool { return r.selected }

// Rewrites reports whether records are re-encoded (field selection or
// name mapping); otherwise their original bytes are forwarded.
func (r *Rule) Rewrites() bool { return r.Select || r.Dest != r.Source }

// Touches reports whether Apply must look into a record at all.
func (r *Rule) Touches() bool { return r.DedupKeys != nil || r.Rewrites() }

// Fault is a record the pump cannot forward, and whose fault it is: the
// attempt fails with it.
type Fault struct {
	Origin  string `json:"origin"`
	Message string `json:"message"`
	// Input is set when the destination's input failed: a write to it.
	Input bool `json:"input,omitempty"`
	// BrokenPipe is set when that write found no reader.
	BrokenPipe bool `json:"brokenPipe,omitempty"`
}

func (f *Fault) Error() string { return f.Message }

func faultf(origin, format string, args ...any) *Fault {
	return &Fault{Origin: origin, Message: fmt.Sprintf(format, args...)}
}

// Apply checks the dedup primary key and applies field selection and name
// mapping to one RECORD line. Only streams whose rule Touches records
// call it: they alone pay for decoding.
func (r *Rule) Apply(raw []byte) ([]byte, *Fault) {
	m, err := protocol.Decode(raw)
	if err != nil || m.Record == nil {
		return nil, faultf(protocol.OriginSource, "invalid RECORD of stream %s: %v", r.Source, err)
	}
	rec := m.Record
	var data map[string]json.RawMessage
	if err := json.Unmarshal(rec.Data, &data); err != nil {
		return nil, faultf(protocol.OriginSource, "RECORD of stream %s: data is not a JSON object", r.Source)
	}
	if r.DedupKeys != nil && allKeysNull(data, r.DedupKeys) {
		return nil, faultf(protocol.OriginSource, "a record of deduplicated stream %s has a null primary key %v", r.Source, r.DedupKeys)
	}
	if !r.Rewrites() {
		return raw, nil
	}
	if r.Select {
		for k := range data {
			if !r.selected[k] {
				delete(data, k)
			}
		}
		if rec.Data, err = json.Marshal(data); err != nil {
			return nil, faultf(protocol.OriginReplication, "re-encoding a record of %s: %v", r.Source, err)
		}
	}
	rec.Stream, rec.Namespace = r.Dest.Name, r.Dest.Namespace
	out, err := json.Marshal(m)
	if err != nil {
		return nil, faultf(protocol.OriginReplication, "re-encoding a record of %s: %v", r.Source, err)
	}
	return out, nil
}

// allKeysNull reports whether every primary-key path is missing or null.
func allKeysNull(data map[string]json.RawMessage, keys [][]string) bool {
	for _, path := range keys {
		if len(path) == 0 {
			continue
		}
		cur := data
		var v json.RawMessage
		for i, k := range path {
			v = cur[k]
			if v == nil || i == len(path)-1 {
				break
			}
			cur = nil
			if json.Unmarshal(v, &cur) != nil {
				v = nil
				break
			}
		}
		if v != nil && string(bytes.TrimSpace(v)) != "null" {
			return false
		}
	}
	return true
}

// UnknownStreamFault is the failure of a record whose stream is not in
// the configured catalog.
func UnknownStreamFault(d protocol.StreamDescriptor) *Fault {
	return faultf(protocol.OriginSource, "the source emitted a record for stream %s, which is not in the configured catalog", d)
}

// DroppedUnknownNote is the note for records of such a stream, dropped.
func DroppedUnknownNote(d protocol.StreamDescriptor) string {
	return fmt.Sprintf("dropped records of stream %s, which is not in the configured catalog", d)
}

// NoStreamWarning is logged for a RECORD without a stream, dropped.
const NoStreamWarning = "dropped a RECORD without a stream from the source"

// LineTooLongFault is the failure of a source line over the limit.
func LineTooLongFault(tl *protocol.LineTooLongError) *Fault {
	return faultf(protocol.OriginSource, "the source wrote a line of %d bytes (%s), over the %d-byte limit (max_line_bytes)",
		tl.Size, describePrefix(tl.Prefix), tl.Limit)
}

// describePrefix names the stream of a truncated line when its prefix
// shows one.
func describePrefix(prefix []byte) string {
	i := bytes.Index(prefix, []byte(`"stream"`))
	if i < 0 {
		return "stream unknown"
	}
	rest := prefix[i+len(`"stream"`):]
	rest = bytes.TrimLeft(rest, " :")
	if len(rest) > 0 && rest[0] == '"' {
		if j := bytes.IndexByte(rest[1:], '"'); j >= 0 {
			return "stream " + string(rest[1:1+j])
		}
	}
	return "stream unknown"
}

// Blank reports whether a line holds nothing but white space: such lines
// are skipped, not reported.
func Blank(line []byte) bool {
	// A line whose first byte is printable ASCII is not blank; only the
	// rest need the full test (bytes.TrimSpace knows Unicode's spaces).
	return len(line) == 0 || (line[0] <= ' ' || line[0] >= 0x80) && len(bytes.TrimSpace(line)) == 0
}
