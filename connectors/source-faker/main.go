// Command source-faker is Ferry's counterpart of Airbyte's source-faker:
// deterministic fake users, products and purchases, read in full or
// incrementally by updated_at. It is also Ferry's benchmark source, so
// records are appended as JSON by hand.
package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/protocol"
)

func main() { cdk.Main(source{}) }

// spec mirrors Airbyte's source-faker spec (count, seed, records_per_slice,
// always_updated, parallelism) plus Ferry's record_bytes.
var spec = &protocol.Spec{
	DocumentationURL: "https://docs.airbyte.com/integrations/sources/faker",
	ConnectionSpecification: json.RawMessage(`{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Faker Source Spec",
  "type": "object",
  "required": ["count"],
  "additionalProperties": true,
  "properties": {
    "count": {"title": "Count", "description": "How many users and purchases to generate in total. The products stream always has 100 records.", "type": "integer", "minimum": 1, "default": 1000, "order": 0},
    "seed": {"title": "Seed", "description": "Seed of the generated data: the same seed gives the same records on every run. -1 picks a random seed.", "type": "integer", "default": -1, "order": 1},
    "records_per_slice": {"title": "Records Per Stream Slice", "description": "How many records to emit between two state messages.", "type": "integer", "minimum": 1, "default": 1000, "order": 2},
    "always_updated": {"title": "Always Updated", "description": "Give every record a new updated_at on each sync, so incremental syncs re-emit everything. Off, an incremental sync emits only records beyond the saved cursor (new ones appear when count grows).", "type": "boolean", "default": false, "order": 3},
    "parallelism": {"title": "Parallelism", "description": "Accepted for compatibility with Airbyte's source-faker; Ferry's generator runs on one core.", "type": "integer", "minimum": 1, "default": 1, "order": 4},
    "record_bytes": {"title": "Record Size", "description": "Pad each record's data with a padding string to about this many bytes. 0 leaves records at their natural size.", "type": "integer", "minimum": 0, "maximum": 67108864, "default": 0, "order": 5}
  }
}`),
	SupportsIncremental: ptr(true),
	ProtocolVersion:     "0.2.0",
}

func ptr[T any](v T) *T { return &v }

// config is the decoded connection config.
type config struct {
	Count           int64 `json:"count"`
	Seed            int64 `json:"seed"`
	RecordsPerSlice int64 `json:"records_per_slice"`
	AlwaysUpdated   bool  `json:"always_updated"`
	RecordBytes     int   `json:"record_bytes"`
}

// baseTime is the first updated_at of a deterministic run: record i of a
// stream was updated i seconds later, so updated_at is also the cursor.
var baseTime = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

func loadConfig(req *cdk.Request) (*config, error) {
	c := &config{Seed: -1, RecordsPerSlice: 1000}
	if err := req.DecodeConfig(c); err != nil {
		return nil, err
	}
	if c.Seed == -1 {
		c.Seed = time.Now().UnixNano()
	}
	return c, nil
}

type source struct{}

func (source) Spec() *protocol.Spec { return spec }

// Check accepts every config the spec accepts: there is nothing to reach.
func (source) Check(ctx context.Context, req *cdk.Request) error {
	_, err := loadConfig(req)
	return err
}

func (source) Streams(ctx context.Context, req *cdk.Request) ([]cdk.Stream, error) {
	c, err := loadConfig(req)
	if err != nil {
		return nil, err
	}
	base := baseTime
	if c.AlwaysUpdated {
		base = time.Now().Unix()
	}
	return []cdk.Stream{
		&stream{name: "users", schema: usersSchema, count: c.Count, cfg: c, base: base, gen: appendUser, values: usersValues},
		&stream{name: "products", schema: productsSchema, count: productCount, cfg: c, base: base, gen: appendProduct},
		&stream{name: "purchases", schema: purchasesSchema, count: c.Count, cfg: c, base: base, gen: appendPurchase, values: purchasesValues},
	}, nil
}
