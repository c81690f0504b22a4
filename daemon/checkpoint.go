package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"

	"github.com/ferrysync/ferry/failpoint"
	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// checkpointer is the runner.Checkpointer of one attempt. Each
// acknowledgement commits the state and the attempt's stats in one store
// transaction as it arrives (G3: acknowledged state survives whatever
// happens next). The final commit is held back instead: the worker writes
// it together with the attempt's status and the job's status in one
// transaction (store.FinishAttempt), so an attempt is succeeded exactly
// when its final state and stats are durable (G4).
type checkpointer struct {
	db        *store.DB
	attemptID int64

	mu sync.Mutex
	// last is the encoding of the last committed state (at first, the
	// state the attempt started from), to tell whether the final commit
	// adds anything: rewriting an unchanged state would mark the attempt
	// as having committed state, and a retry would wrongly count it as
	// progress.
	last  []byte
	final *runner.Checkpoint
	// log, when set, records commits refused for a lost lease.
	log *slog.Logger
	// inject is the failCommit test probe, nil outside tests.
	inject func(cp runner.Checkpoint) error
}

var _ runner.Checkpointer = (*checkpointer)(nil)

func newCheckpointer(db *store.DB, attemptID int64, start []*protocol.State) *checkpointer {
	return &checkpointer{db: db, attemptID: attemptID, last: encodeStates(start)}
}

// Commit implements runner.Checkpointer.
func (c *checkpointer) Commit(ctx context.Context, cp runner.Checkpoint) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inject != nil {
		if err := c.inject(cp); err != nil {
			return err
		}
	}
	if cp.Final {
		c.final = &cp
		return nil
	}
	if err := c.db.CommitCheckpoint(ctx, c.attemptID, cp.States, storeStats(cp.Stats)); err != nil {
		if errors.Is(err, store.ErrLeaseLost) && c.log != nil {
			// A replica paused or cut off past its lease: another one
			// has failed the attempt and may run its retry already.
			c.log.Error("state commit refused: this replica no longer holds the attempt's lease", "error", err)
		}
		if errors.Is(err, store.ErrStorageFull) {
			return runner.StorageFull(err)
		}
		return err
	}
	if cp.States != nil {
		c.last = encodeStates(cp.States)
		failpoint.Hit(failpoint.CheckpointCommitted)
	}
	return nil
}

// finalStates returns the final commit's states when they differ from what
// is already committed, else nil; and the final stats, if any.
func (c *checkpointer) finalCommit() (states []*protocol.State, stats *store.Stats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.final == nil {
		return nil, nil
	}
	s := storeStats(c.final.Stats)
	if c.final.States != nil && !bytes.Equal(encodeStates(c.final.States), c.last) {
		states = c.final.States
	}
	return states, &s
}

func encodeStates(states []*protocol.State) []byte {
	if len(states) == 0 {
		return nil
	}
	b, err := json.Marshal(states)
	if err != nil {
		return nil // an unencodable state never equals anything: it is written
	}
	return b
}

// storeStats converts the runner's stats to the store's.
func storeStats(s runner.Stats) store.Stats {
	out := store.Stats{
		RecordsEmitted:   s.RecordsEmitted,
		BytesEmitted:     s.BytesEmitted,
		RecordsCommitted: s.RecordsCommitted,
		BytesCommitted:   s.BytesCommitted,
	}
	for _, st := range s.Streams {
		out.Streams = append(out.Streams, store.StreamStats{
			Stream:           st.Stream,
			RecordsEmitted:   st.RecordsEmitted,
			BytesEmitted:     st.BytesEmitted,
			RecordsCommitted: st.RecordsCommitted,
			BytesCommitted:   st.BytesCommitted,
			StatesEmitted:    st.StatesEmitted,
			StatesCommitted:  st.StatesCommitted,
			Status:           st.Status,
		})
	}
	return out
}
