package protocoltest

import "fmt"

// The records below are shaped like source-faker's products stream. The
// benchmarks of the JSONL and protobuf codecs share them, so their MB/s and
// records/s figures compare.

// ProductsSchema is the json_schema of source-faker's products stream.
const ProductsSchema = `{"type":"object","properties":{
	"id":{"type":"integer"},
	"make":{"type":["null","string"]},
	"model":{"type":["null","string"]},
	"year":{"type":["null","integer"]},
	"price":{"type":["null","number"]},
	"in_stock":{"type":["null","boolean"]},
	"created_at":{"type":["null","string"],"format":"date-time","airbyte_type":"timestamp_with_timezone"},
	"updated_at":{"type":["null","string"],"format":"date-time","airbyte_type":"timestamp_with_timezone"}}}`

var productMakes = []string{"Mazda", "Mercedes-Benz", "Pontiac", "Ford", "Volkswagen", "Chevrolet", "Dodge", "Lincoln"}
var productModels = []string{"MX-5", "CLK-Class", "Grand Prix", "F-150", "Passat", "Silverado 2500", "Ram 1500", "Navigator"}

// ProductRecord returns the record object of row i of the products stream
// (about 200 bytes).
func ProductRecord(i int) []byte {
	return fmt.Appendf(nil, `{"stream":"products","data":{"id":%d,"make":%q,"model":%q,"year":%d,"price":%d.%02d,"in_stock":%t,"created_at":"2022-02-%02dT17:02:%02d+00:00","updated_at":"2023-03-%02dT08:15:%02d+00:00"},"emitted_at":%d}`,
		i, productMakes[i%len(productMakes)], productModels[i%len(productModels)], 1990+i%30, 1000+i%9000, i%100, i%3 != 0,
		1+i%28, i%60, 1+i%28, (i*7)%60, 1700000000000+int64(i))
}

// ProductLines returns n RECORD lines of the products stream.
func ProductLines(n int) [][]byte {
	lines := make([][]byte, n)
	for i := range lines {
		lines[i] = append(append([]byte(`{"type":"RECORD","record":`), ProductRecord(i)...), '}')
	}
	return lines
}

// TotalLen is the number of bytes in lines.
func TotalLen(lines [][]byte) int64 {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	return int64(n)
}
