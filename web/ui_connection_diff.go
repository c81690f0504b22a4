package web

import (
	"encoding/json"
	"slices"

	"github.com/ferrysync/ferry/protocol"
)

// schemaDiff is what a schema refresh changed, shown on the builder before
// the connection is saved: streams the source now offers, streams it no
// longer has, and the top-level fields added to or removed from the
// streams the connection syncs.
//
// A connection stores only the streams it syncs, so a stream it does not
// sync cannot be told from a new one by the connection alone. The form
// therefore posts the streams it was shown ("known"); a refresh reports
// as added what neither those nor the connection had.
type schemaDiff struct {
	Added   []string      `json:"added"`
	Removed []string      `json:"removed"`
	Changed []fieldChange `json:"changed"`
	added   map[string]bool
}

// fieldChange is one synced stream's changed fields.
type fieldChange struct {
	Stream  string   `json:"stream"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
}

// diffSchema compares the discovered catalog with the connection's stored
// streams and, after a refresh, with the streams the form knew (nil: no
// refresh, so nothing counts as added). It returns nil when nothing
// changed.
func diffSchema(known map[string]bool, stored *protocol.ConfiguredCatalog, cat *protocol.Catalog) *schemaDiff {
	d := &schemaDiff{added: map[string]bool{}}
	now := map[protocol.StreamDescriptor]*protocol.Stream{}
	for i := range cat.Streams {
		now[cat.Streams[i].Descriptor()] = &cat.Streams[i]
	}
	had := map[protocol.StreamDescriptor]bool{}
	if stored != nil {
		for _, cs := range stored.Streams {
			desc := cs.Stream.Descriptor()
			had[desc] = true
			st, ok := now[desc]
			if !ok {
				d.Removed = append(d.Removed, desc.String())
				continue
			}
			if ch := fieldsChanged(desc.String(), cs.Stream.JSONSchema, st.JSONSchema); ch != nil {
				d.Changed = append(d.Changed, *ch)
			}
		}
	}
	if known != nil {
		for k := range known {
			desc := descriptorOfKey(k)
			if _, ok := now[desc]; !ok && !had[desc] {
				d.Removed = append(d.Removed, desc.String())
			}
		}
		for _, st := range cat.Streams {
			if k := streamKey(st.Descriptor()); !known[k] && !had[st.Descriptor()] {
				d.Added = append(d.Added, st.Descriptor().String())
				d.added[k] = true
			}
		}
	}
	slices.Sort(d.Removed)
	if len(d.Added)+len(d.Removed)+len(d.Changed) == 0 {
		return nil
	}
	return d
}

func fieldsChanged(stream string, was, is []byte) *fieldChange {
	before, after := fieldNames(was), fieldNames(is)
	ch := fieldChange{Stream: stream}
	for _, f := range after {
		if !slices.Contains(before, f) {
			ch.Added = append(ch.Added, f)
		}
	}
	for _, f := range before {
		if !slices.Contains(after, f) {
			ch.Removed = append(ch.Removed, f)
		}
	}
	if len(ch.Added)+len(ch.Removed) == 0 {
		return nil
	}
	return &ch
}

// descriptorOfKey reverses streamKey; a key that is not one names a
// stream without a namespace.
func descriptorOfKey(k string) protocol.StreamDescriptor {
	var parts []string
	if json.Unmarshal([]byte(k), &parts) != nil || len(parts) != 2 {
		return protocol.StreamDescriptor{Name: k}
	}
	return protocol.StreamDescriptor{Namespace: parts[0], Name: parts[1]}
}
