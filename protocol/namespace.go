package protocol

// NamespaceDefinition says where a stream's namespace on the destination
// comes from (docs/protocol.md 5.8).
type NamespaceDefinition string

// Namespace definitions: keep the source's namespace, use the
// destination's default (a null namespace), or format one from
// ${SOURCE_NAMESPACE}.
const (
	NamespaceSource       NamespaceDefinition = "source"
	NamespaceDestination  NamespaceDefinition = "destination"
	NamespaceCustomFormat NamespaceDefinition = "customformat"
)
