package cdk

import (
	"fmt"
	"testing"
)

// BenchmarkSocketFlushSize compares the source's socket flush thresholds
// (Airbyte flushes at 8 KiB) on 2 JSONL sockets.
func BenchmarkSocketFlushSize(b *testing.B) {
	old := socketFlushBytes
	defer func() { socketFlushBytes = old }()
	for _, kib := range []int{8, 16, 64, 256} {
		b.Run(fmt.Sprintf("%dKiB", kib), func(b *testing.B) {
			socketFlushBytes = kib << 10
			benchSocket(b, FormatJSONL, 2)
		})
	}
}
