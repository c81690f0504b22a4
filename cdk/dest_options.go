package cdk

import (
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// WriteOptions tune the destination pipeline. A Writer may set its own by
// implementing WriteOptioner; zero fields take the defaults.
type WriteOptions struct {
	// FlushInterval is the longest a state waits for the flush that lets
	// it be acknowledged. Flushing is what costs (an fsync), so states are
	// acknowledged in groups.
	FlushInterval time.Duration
	// FlushEveryState flushes and acknowledges at every state instead.
	FlushEveryState bool
	// BatchRecords and BatchBytes bound one StreamWriter.Write call.
	BatchRecords int
	BatchBytes   int
	// MaxLineBytes bounds one input line (default 64 MiB).
	MaxLineBytes int
}

// WriteOptioner is implemented by a Writer with its own WriteOptions.
type WriteOptioner interface {
	WriteOptions() WriteOptions
}

// DefaultWriteOptions are the options of a Writer without WriteOptioner.
var DefaultWriteOptions = WriteOptions{
	FlushInterval: 500 * time.Millisecond,
	BatchRecords:  1000,
	BatchBytes:    1 << 20,
	MaxLineBytes:  protocol.DefaultMaxLineBytes,
}

func (o WriteOptions) withDefaults() WriteOptions {
	d := DefaultWriteOptions
	if o.FlushInterval > 0 {
		d.FlushInterval = o.FlushInterval
	}
	d.FlushEveryState = o.FlushEveryState
	if o.BatchRecords > 0 {
		d.BatchRecords = o.BatchRecords
	}
	if o.BatchBytes > 0 {
		d.BatchBytes = o.BatchBytes
	}
	if o.MaxLineBytes > 0 {
		d.MaxLineBytes = o.MaxLineBytes
	}
	return d
}
