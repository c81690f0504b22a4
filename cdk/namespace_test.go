package cdk

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
)

// TestNamespaceMappingNames maps names as Ferry does in stdio mode: source
// keeps the namespace, destination clears it, customformat (either
// spelling) fills ${SOURCE_NAMESPACE} and a blank result is no namespace,
// and the prefix goes before every name.
func TestNamespaceMappingNames(t *testing.T) {
	shop := protocol.StreamDescriptor{Namespace: "shop", Name: "items"}
	bare := protocol.StreamDescriptor{Name: "items"}
	tests := []struct {
		name      string
		file      string
		shop, bar protocol.StreamDescriptor // what shop and bare become
	}{
		{"source with a prefix", `{"namespaceDefinitionType":"source","streamPrefix":"stdio-"}`,
			protocol.StreamDescriptor{Namespace: "shop", Name: "stdio-items"}, protocol.StreamDescriptor{Name: "stdio-items"}},
		{"no definition is source", `{"streamPrefix":"p_"}`,
			protocol.StreamDescriptor{Namespace: "shop", Name: "p_items"}, protocol.StreamDescriptor{Name: "p_items"}},
		{"destination", `{"namespaceDefinitionType":"destination"}`, bare, bare},
		{"destination with a prefix", `{"namespaceDefinitionType":"destination","streamPrefix":"x_"}`,
			protocol.StreamDescriptor{Name: "x_items"}, protocol.StreamDescriptor{Name: "x_items"}},
		{"customformat", `{"namespaceDefinitionType":"customformat","namespaceFormat":"raw_${SOURCE_NAMESPACE}","streamPrefix":"p_"}`,
			protocol.StreamDescriptor{Namespace: "raw_shop", Name: "p_items"}, protocol.StreamDescriptor{Namespace: "raw_", Name: "p_items"}},
		{"custom_format as the public API spells it", `{"namespaceDefinitionType":"custom_format","namespaceFormat":"${SOURCE_NAMESPACE}_v2"}`,
			protocol.StreamDescriptor{Namespace: "shop_v2", Name: "items"}, protocol.StreamDescriptor{Namespace: "_v2", Name: "items"}},
		{"a blank custom namespace is none", `{"namespaceDefinitionType":"customformat","namespaceFormat":" ${SOURCE_NAMESPACE} "}`,
			protocol.StreamDescriptor{Namespace: "shop", Name: "items"}, bare},
		{"no format is no namespace", `{"namespaceDefinitionType":"customformat","namespaceFormat":null}`, bare, bare},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseNamespaceMapping([]byte(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if m == nil {
				t.Fatal("got no mapping, want one that renames")
			}
			if got := m.toDest(shop); got != tt.shop {
				t.Errorf("%s: got %s, want %s", shop, got, tt.shop)
			}
			if got := m.toDest(bare); got != tt.bar {
				t.Errorf("%s: got %s, want %s", bare, got, tt.bar)
			}
		})
	}
}

// TestNamespaceMappingIdentityAndErrors: a mapping that keeps every name
// is none at all; an unknown definition or a broken file is an error.
func TestNamespaceMappingIdentityAndErrors(t *testing.T) {
	for _, file := range []string{`{}`, `{"namespaceDefinitionType":"source"}`, `{"namespaceDefinitionType":"SOURCE","streamPrefix":""}`} {
		if m, err := parseNamespaceMapping([]byte(file)); m != nil || err != nil {
			t.Errorf("%s: got %+v, %v; want no mapping", file, m, err)
		}
	}
	for file, want := range map[string]string{
		`{"namespaceDefinitionType":"upstream"}`: "unknown namespaceDefinitionType",
		`{"namespaceDefinitionType":`:            "namespace mapping file",
	} {
		if _, err := parseNamespaceMapping([]byte(file)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", file, err, want)
		}
	}
	useEnv(t, map[string]string{EnvNamespaceMapping: "/nonexistent/namespace-mapping.json"})
	if _, err := readNamespaceMapping(); err == nil || !strings.Contains(err.Error(), "read the namespace mapping file") {
		t.Errorf("missing file: got %v", err)
	}
	useEnv(t, map[string]string{})
	if m, err := readNamespaceMapping(); m != nil || err != nil {
		t.Errorf("no variable: got %+v, %v; want no mapping", m, err)
	}
}

// TestNamespaceMappingCatalog renames every stream of the writer's
// catalog and nothing else, leaves the input catalog alone, and refuses
// two streams that would land on one name.
func TestNamespaceMappingCatalog(t *testing.T) {
	cat := &protocol.ConfiguredCatalog{Streams: []protocol.ConfiguredStream{
		{Stream: protocol.Stream{Name: "items", Namespace: "shop", JSONSchema: json.RawMessage(`{}`)}, SyncMode: protocol.SyncIncremental, DestinationSyncMode: protocol.DestAppend, CursorField: []string{"id"}},
		{Stream: protocol.Stream{Name: "items", JSONSchema: json.RawMessage(`{}`)}, SyncMode: protocol.SyncFullRefresh, DestinationSyncMode: protocol.DestOverwrite},
	}}
	before := mustJSON(t, cat)
	m := &namespaceMapping{Definition: protocol.NamespaceCustomFormat, Format: "${SOURCE_NAMESPACE}_raw", Prefix: "p_"}
	got, err := m.catalog(cat)
	if err != nil {
		t.Fatal(err)
	}
	want := []protocol.StreamDescriptor{{Namespace: "shop_raw", Name: "p_items"}, {Namespace: "_raw", Name: "p_items"}}
	var names []protocol.StreamDescriptor
	for i, cs := range got.Streams {
		names = append(names, cs.Stream.Descriptor())
		if cs.SyncMode != cat.Streams[i].SyncMode || cs.DestinationSyncMode != cat.Streams[i].DestinationSyncMode {
			t.Errorf("stream %d: modes changed to %s/%s", i, cs.SyncMode, cs.DestinationSyncMode)
		}
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if after := mustJSON(t, cat); after != before {
		t.Errorf("the input catalog changed:\n%s\nwant\n%s", after, before)
	}
	dest := &namespaceMapping{Definition: protocol.NamespaceDestination}
	if _, err := dest.catalog(cat); err == nil || !strings.Contains(err.Error(), "both map to items") {
		t.Errorf("collision: got %v", err)
	}
	var none *namespaceMapping
	if same, err := none.catalog(cat); same != cat || err != nil {
		t.Errorf("no mapping: got a new catalog or %v", err)
	}
}

// nsDest records the names the kit gives the writer.
type nsDest struct {
	catalog  []string        // WriteRequest.Catalog
	opened   []string        // OpenStream
	records  map[string]int  // Record.Stream -> records
	finished map[string]bool // stream -> complete
}

func (d *nsDest) Spec() *protocol.Spec                          { return testSpec }
func (d *nsDest) Check(ctx context.Context, req *Request) error { return nil }
func (d *nsDest) Open(ctx context.Context, req *WriteRequest) (Writer, error) {
	d.records, d.finished = map[string]int{}, map[string]bool{}
	for _, cs := range req.Catalog.Streams {
		d.catalog = append(d.catalog, cs.Stream.Descriptor().String())
	}
	return d, nil
}
func (d *nsDest) OpenStream(ctx context.Context, s *protocol.ConfiguredStream) (StreamWriter, error) {
	name := s.Stream.Descriptor().String()
	d.opened = append(d.opened, name)
	return &nsStream{d: d, name: name}, nil
}
func (d *nsDest) Close(ctx context.Context) error { return nil }

type nsStream struct {
	d    *nsDest
	name string
}

func (s *nsStream) Write(ctx context.Context, batch []Record) error {
	for _, r := range batch {
		if _, err := r.Fields(); err != nil {
			return err
		}
		if r.Stream.String() != s.name {
			return fmt.Errorf("stream %s got a record of %s", s.name, r.Stream)
		}
		s.d.records[s.name]++
	}
	return nil
}
func (s *nsStream) Flush(ctx context.Context) error { return nil }
func (s *nsStream) Finish(ctx context.Context, complete bool) error {
	s.d.finished[s.name] = complete
	return nil
}

// TestSocketNamespaceMapping: in socket mode the kit reads the mapping
// file Ferry names in NAMESPACE_MAPPING_CONFIG_PATH, and the writer sees
// every stream under its mapped name (catalog, OpenStream, Record.Stream),
// in JSONL and in PROTOBUF, while acknowledgements keep the source's names
// that Ferry's books use.
func TestSocketNamespaceMapping(t *testing.T) {
	for _, format := range []string{FormatJSONL, FormatProtobuf} {
		t.Run(format, func(t *testing.T) {
			mapping := writeFile(t, "mapping.json", `{"namespaceDefinitionType":"customformat","namespaceFormat":"raw_${SOURCE_NAMESPACE}","streamPrefix":"pre_"}`)
			socketEnv(t, format, 2, EnvNamespaceMapping, mapping)
			src := &testSource{streams: []Stream{
				&partGenStream{genStream{name: "a", ns: "shop", n: 40, every: 10}},
				&genStream{name: "b", n: 15, every: 5},
			}}
			cat := catalogOf(t, src.streams...)
			cfg := writeFile(t, "c.json", `{"count":1}`)
			d := &nsDest{}
			sres, dres := runSocketPair(t, src, []string{"read", "--config", cfg, "--catalog", cat}, d, []string{"write", "--config", cfg, "--catalog", cat})
			if sres.code != ExitOK || dres.code != ExitOK {
				t.Fatalf("source exit %d, destination exit %d: %s", sres.code, dres.code, dres.stdout)
			}
			want := []string{"raw_shop.pre_a", "raw_.pre_b"}
			if !cmp.Equal(want, d.catalog) || !cmp.Equal(want, d.opened) {
				t.Fatalf("catalog %v, opened %v; want %v", d.catalog, d.opened, want)
			}
			if diff := cmp.Diff(map[string]int{"raw_shop.pre_a": 40, "raw_.pre_b": 15}, d.records); diff != "" {
				t.Errorf("records by Record.Stream (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]bool{"raw_shop.pre_a": true, "raw_.pre_b": true}, d.finished); diff != "" {
				t.Errorf("finished (-want +got):\n%s", diff)
			}
			acks := dres.ofType(protocol.TypeState)
			if len(acks) == 0 {
				t.Fatal("no acknowledgements")
			}
			for _, m := range acks {
				if n := m.State.Stream.StreamDescriptor.String(); n != "shop.a" && n != "b" {
					t.Fatalf("acknowledgement of %s, want the source's names", n)
				}
			}
		})
	}
}
