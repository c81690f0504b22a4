package runner

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner/podpump"
)

// catalogIndex looks up configured streams by descriptor. It is read-only
// after construction and shared by the pump and the destination reader.
type catalogIndex struct {
	streams map[protocol.StreamDescriptor]*streamPlan
	order   []protocol.StreamDescriptor
}

// streamPlan is what the pump needs per stream, computed once.
type streamPlan struct {
	cfg  *protocol.ConfiguredStream
	desc protocol.StreamDescriptor
	// dest is the stream's name on the destination side (prefix and
	// namespace mapping applied).
	dest protocol.StreamDescriptor
	// rule checks and rewrites the stream's records (the in-pod pump
	// applies the same rule).
	rule *podpump.Rule
	// touches is rule.Touches(): whether records are looked into at all.
	touches bool
}

func newCatalogIndex(c *protocol.ConfiguredCatalog, mapping *nameMapper, selected map[protocol.StreamDescriptor][]string) (*catalogIndex, error) {
	idx := &catalogIndex{streams: make(map[protocol.StreamDescriptor]*streamPlan, len(c.Streams))}
	for i := range c.Streams {
		cs := &c.Streams[i]
		d := cs.Stream.Descriptor()
		p := &streamPlan{cfg: cs, desc: d, dest: mapping.toDest(d)}
		p.rule = &podpump.Rule{Source: d, Dest: p.dest}
		if fields, ok := selected[d]; ok && fields != nil {
			p.rule.Select, p.rule.Selected = true, fields
		}
		if cs.SyncMode == protocol.SyncIncremental && (cs.DestinationSyncMode == protocol.DestAppendDedup || cs.DestinationSyncMode == protocol.DestOverwriteDedup) {
			p.rule.DedupKeys = cs.Keys()
		}
		p.rule.Prepare()
		p.touches = p.rule.Touches()
		idx.streams[d] = p
		idx.order = append(idx.order, d)
	}
	for d := range selected {
		if idx.streams[d] == nil {
			return nil, fmt.Errorf("field selection names stream %s, which is not in the catalog", d)
		}
	}
	return idx, nil
}

func (c *catalogIndex) find(d protocol.StreamDescriptor) *streamPlan { return c.streams[d] }

// NamespaceMapping says how source streams are named on the destination
// (docs/protocol.md 5.8): Definition is "source" (keep), "destination" (null
// namespace) or "customformat" (Format with ${SOURCE_NAMESPACE}); Prefix is
// prepended to every stream name.
type NamespaceMapping struct {
	Definition protocol.NamespaceDefinition `json:"namespaceDefinitionType,omitempty"`
	Format     string                       `json:"namespaceFormat,omitempty"`
	Prefix     string                       `json:"streamPrefix,omitempty"`
}

// Validate checks the mapping.
func (m NamespaceMapping) Validate() error {
	switch m.Definition {
	case "", protocol.NamespaceSource, protocol.NamespaceDestination:
	case protocol.NamespaceCustomFormat:
		if strings.TrimSpace(m.Format) == "" {
			return fmt.Errorf("namespace definition customformat needs a namespaceFormat")
		}
	default:
		return fmt.Errorf("unknown namespace definition %q (want source, destination or customformat)", m.Definition)
	}
	return nil
}

// nameMapper applies a NamespaceMapping both ways. The reverse direction
// maps acknowledged STREAM states back to source names.
type nameMapper struct {
	m       NamespaceMapping
	reverse map[protocol.StreamDescriptor]protocol.StreamDescriptor
}

func newNameMapper(m NamespaceMapping, c *protocol.ConfiguredCatalog) (*nameMapper, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	nm := &nameMapper{m: m}
	if !nm.active() {
		return nm, nil
	}
	nm.reverse = make(map[protocol.StreamDescriptor]protocol.StreamDescriptor, len(c.Streams))
	for i := range c.Streams {
		d := c.Streams[i].Stream.Descriptor()
		dd := nm.toDest(d)
		if prev, dup := nm.reverse[dd]; dup {
			return nil, fmt.Errorf("streams %s and %s both map to %s on the destination", prev, d, dd)
		}
		nm.reverse[dd] = d
	}
	return nm, nil
}

func (n *nameMapper) active() bool {
	return n != nil && (n.m.Prefix != "" || n.m.Definition == protocol.NamespaceDestination || n.m.Definition == protocol.NamespaceCustomFormat)
}

func (n *nameMapper) toDest(d protocol.StreamDescriptor) protocol.StreamDescriptor {
	if !n.active() {
		return d
	}
	out := protocol.StreamDescriptor{Name: n.m.Prefix + d.Name, Namespace: d.Namespace}
	switch n.m.Definition {
	case protocol.NamespaceDestination:
		out.Namespace = ""
	case protocol.NamespaceCustomFormat:
		out.Namespace = strings.TrimSpace(strings.ReplaceAll(n.m.Format, "${SOURCE_NAMESPACE}", d.Namespace))
	}
	return out
}

func (n *nameMapper) toSource(d protocol.StreamDescriptor) protocol.StreamDescriptor {
	if !n.active() {
		return d
	}
	if s, ok := n.reverse[d]; ok {
		return s
	}
	return d
}

// sourceCatalog rewrites the configured catalog for the source: the
// data-activation modes become append, so older sources still parse it
// (docs/protocol.md 2.8).
func sourceCatalog(c *protocol.ConfiguredCatalog) ([]byte, error) {
	cp := *c
	cp.Streams = make([]protocol.ConfiguredStream, len(c.Streams))
	for i, s := range c.Streams {
		if s.DestinationSyncMode == protocol.DestUpdate || s.DestinationSyncMode == protocol.DestSoftDelete {
			s.DestinationSyncMode = protocol.DestAppend
		}
		cp.Streams[i] = s
	}
	return json.Marshal(&cp)
}

// destinationCatalog rewrites the configured catalog for the destination in
// stdio mode: mapped names (docs/protocol.md 2.8), and deselected fields removed
// from the schema so the destination creates only the columns it will get.
func destinationCatalog(c *protocol.ConfiguredCatalog, idx *catalogIndex) ([]byte, error) {
	cp := *c
	cp.Streams = make([]protocol.ConfiguredStream, len(c.Streams))
	for i, s := range c.Streams {
		p := idx.find(s.Stream.Descriptor())
		s.Stream.Name, s.Stream.Namespace = p.dest.Name, p.dest.Namespace
		if s.DestinationSyncMode == protocol.DestOverwriteDedup {
			s.DestinationSyncMode = protocol.DestAppendDedup
		}
		if keep := p.rule.SelectedSet(); keep != nil {
			schema, err := selectSchema(s.Stream.JSONSchema, keep)
			if err != nil {
				return nil, fmt.Errorf("stream %s: %w", p.desc, err)
			}
			s.Stream.JSONSchema = schema
		}
		cp.Streams[i] = s
	}
	return json.Marshal(&cp)
}

// selectSchema keeps only the selected top-level properties of a schema.
func selectSchema(schema json.RawMessage, keep map[string]bool) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(schema, &obj); err != nil {
		return nil, fmt.Errorf("json_schema: %w", err)
	}
	var props map[string]json.RawMessage
	if raw, ok := obj["properties"]; ok {
		if err := json.Unmarshal(raw, &props); err != nil {
			return nil, fmt.Errorf("json_schema.properties: %w", err)
		}
	}
	for k := range props {
		if !keep[k] {
			delete(props, k)
		}
	}
	b, err := json.Marshal(props)
	if err != nil {
		return nil, err
	}
	obj["properties"] = b
	return json.Marshal(obj)
}

func sortedKeys[V any](m map[protocol.StreamDescriptor]V) []protocol.StreamDescriptor {
	keys := make([]protocol.StreamDescriptor, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Namespace != keys[j].Namespace {
			return keys[i].Namespace < keys[j].Namespace
		}
		return keys[i].Name < keys[j].Name
	})
	return keys
}
