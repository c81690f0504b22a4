package runner

import (
	"context"
	"encoding/json"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
)

// redactingCheckpointer masks secret values in the states it commits
// (docs/design.md G13): a source that writes its config into its state
// must not put the secret in the store, the state API or a --state-out
// file. The runner matches acknowledgements against the states as the
// source sent them; only what is committed is masked, so a state with no
// secret is committed byte for byte.
type redactingCheckpointer struct {
	next   Checkpointer
	redact *secret.Redactor
}

// Commit implements Checkpointer.
func (c *redactingCheckpointer) Commit(ctx context.Context, cp Checkpoint) error {
	cp.States = redactStates(c.redact, cp.States)
	return c.next.Commit(ctx, cp)
}

// redactStates returns states with secret values masked; the slice itself
// when none holds one.
func redactStates(red *secret.Redactor, states []*protocol.State) []*protocol.State {
	if red.Empty() || len(states) == 0 {
		return states
	}
	var out []*protocol.State
	for i, st := range states {
		masked := redactState(red, st)
		if masked != st && out == nil {
			out = append(make([]*protocol.State, 0, len(states)), states[:i]...)
		}
		if out != nil {
			out = append(out, masked)
		}
	}
	if out == nil {
		return states
	}
	return out
}

// redactState masks one state through its JSON encoding, which holds every
// field the source sent (undeclared ones included).
func redactState(red *secret.Redactor, st *protocol.State) *protocol.State {
	if st == nil {
		return nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return st
	}
	masked, changed := red.RedactJSON(b)
	if !changed {
		return st
	}
	var out protocol.State
	if err := json.Unmarshal(masked, &out); err != nil {
		// Masking keeps JSON valid; should it ever fail, commit no secret:
		// a state that holds only the mask.
		return &protocol.State{Type: st.Type, Data: json.RawMessage(`"` + secret.Mask + `"`)}
	}
	return &out
}
