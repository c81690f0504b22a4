package runner

import "github.com/ferrysync/ferry/protocol"

// output names a connector output that Ferry reads.
type output int

const (
	// sourceData is the source's stdout when it carries the records:
	// stdio mode, and bridged mode's merged socket stream.
	sourceData output = iota
	// sourceBooks is the source's stdout in socket mode: states, logs and
	// traces, while the records go over the sockets.
	sourceBooks
	// sourceCopies is the source's stdout in bridged mode: its states are
	// copies of the ones on the sockets, which Ferry orders with the
	// records, so only logs, traces and control messages count.
	sourceCopies
	// destinationOut is the destination's stdout.
	destinationOut
)

// action is what Ferry does with one message.
type action int

const (
	actForward          action = iota // a record: forward it to the destination
	actForwardState                   // a source state: number it and forward it
	actStageState                     // socket mode: stage the state until acknowledged
	actDropRecord                     // a record where none may be: count and drop it
	actIgnore                         // a copy of a message handled elsewhere
	actAcknowledge                    // a destination state: an acknowledgement
	actDestinationStats               // a destination RECORD: never data, perhaps stats
	actLog                            // LOG: to the attempt log
	actTrace                          // TRACE: errors, statuses, estimates
	actControl                        // CONTROL: a config update to persist
	actUnexpected                     // a known type that has no business here
	actUnknown                        // a type this protocol version does not know
)

// route decides what Ferry does with a message of type typ read from out
// (docs/protocol.md 4.1, 5.7). Every connector output goes through it, so the
// whole message routing of every mode is this one table.
func route(out output, typ protocol.Type) action {
	switch typ {
	case protocol.TypeRecord:
		switch out {
		case sourceData:
			return actForward
		case destinationOut:
			return actDestinationStats
		default:
			return actDropRecord
		}
	case protocol.TypeState:
		switch out {
		case sourceData:
			return actForwardState
		case sourceBooks:
			return actStageState
		case sourceCopies:
			return actIgnore
		default:
			return actAcknowledge
		}
	case protocol.TypeLog:
		return actLog
	case protocol.TypeTrace:
		return actTrace
	case protocol.TypeControl:
		return actControl
	}
	if !typ.Known() {
		return actUnknown
	}
	return actUnexpected
}

// roleOf is the connector behind an output.
func roleOf(out output) Role {
	if out == destinationOut {
		return RoleDestination
	}
	return RoleSource
}
