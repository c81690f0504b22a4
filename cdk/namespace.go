package cdk

import (
	"encoding/json"
	"os"
	"strings"

	"github.com/ferrysync/ferry/protocol"
)

// EnvNamespaceMapping names the namespace mapping file of socket mode
// (docs/protocol.md 5.8). In stdio mode the platform renames records itself
// and the catalog already carries the destination's names, so the kit
// reads the file only in socket mode, where records come straight from
// the source under the source's names.
const EnvNamespaceMapping = "NAMESPACE_MAPPING_CONFIG_PATH"

// sourceNamespaceVar is replaced by the source's namespace in a custom
// namespace format.
const sourceNamespaceVar = "${SOURCE_NAMESPACE}"

// namespaceMapping is how source streams are named on the destination,
// as the mapping file spells it (Ferry writes it, Airbyte's load CDK
// reads the same members).
type namespaceMapping struct {
	Definition protocol.NamespaceDefinition `json:"namespaceDefinitionType"`
	Format     string                       `json:"namespaceFormat"`
	Prefix     string                       `json:"streamPrefix"`
}

// readNamespaceMapping loads the file EnvNamespaceMapping names. Without
// one, or with a mapping that keeps every name, it returns nil: names are
// kept.
func readNamespaceMapping() (*namespaceMapping, error) {
	path := strings.TrimSpace(getenv(EnvNamespaceMapping))
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, SystemError("read the namespace mapping file: %w", err)
	}
	return parseNamespaceMapping(raw)
}

// parseNamespaceMapping reads a mapping file's content.
func parseNamespaceMapping(raw []byte) (*namespaceMapping, error) {
	var m namespaceMapping
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, SystemError("namespace mapping file: %v", err)
	}
	// Ferry and the load CDK write "customformat"; Airbyte's public API
	// spells the same definition "custom_format".
	switch d := strings.ToLower(strings.TrimSpace(string(m.Definition))); d {
	case "", string(protocol.NamespaceSource):
		m.Definition = protocol.NamespaceSource
	case string(protocol.NamespaceDestination):
		m.Definition = protocol.NamespaceDestination
	case string(protocol.NamespaceCustomFormat), "custom_format":
		m.Definition = protocol.NamespaceCustomFormat
	default:
		return nil, SystemError("namespace mapping file: unknown namespaceDefinitionType %q (want source, destination or customformat)", m.Definition)
	}
	if m.Definition == protocol.NamespaceSource && m.Prefix == "" {
		return nil, nil
	}
	return &m, nil
}

// toDest is the stream's name on the destination. It follows Ferry's own
// mapping in stdio mode (runner.NamespaceMapping), so that a connection
// names its streams the same in every mode: destination clears the
// namespace; customformat replaces ${SOURCE_NAMESPACE} in the format, and
// a blank result is no namespace; the prefix goes before every name.
func (m *namespaceMapping) toDest(d protocol.StreamDescriptor) protocol.StreamDescriptor {
	if m == nil {
		return d
	}
	out := protocol.StreamDescriptor{Name: m.Prefix + d.Name, Namespace: d.Namespace}
	switch m.Definition {
	case protocol.NamespaceDestination:
		out.Namespace = ""
	case protocol.NamespaceCustomFormat:
		out.Namespace = strings.TrimSpace(strings.ReplaceAll(m.Format, sourceNamespaceVar, d.Namespace))
	}
	return out
}

// catalog returns the catalog as the writer sees it: every stream under
// its destination name. Two streams that would land on one name are an
// error, as they are for Ferry.
func (m *namespaceMapping) catalog(cat *protocol.ConfiguredCatalog) (*protocol.ConfiguredCatalog, error) {
	if m == nil {
		return cat, nil
	}
	cp := *cat
	cp.Streams = make([]protocol.ConfiguredStream, len(cat.Streams))
	seen := make(map[protocol.StreamDescriptor]protocol.StreamDescriptor, len(cat.Streams))
	for i, cs := range cat.Streams {
		src := cs.Stream.Descriptor()
		dst := m.toDest(src)
		if prev, dup := seen[dst]; dup {
			return nil, ConfigError("streams %s and %s both map to %s on the destination", prev, src, dst)
		}
		seen[dst] = src
		cs.Stream.Name, cs.Stream.Namespace = dst.Name, dst.Namespace
		cp.Streams[i] = cs
	}
	return &cp, nil
}
