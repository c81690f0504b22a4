package runner

import "context"

// PairRuntime is a Runtime that starts the two connectors of an attempt
// together, as one unit: a Kubernetes pod whose containers share a volume,
// for example. Sync calls RunPair when its runtime has it, and Run once per
// connector otherwise (see runPair); either way each side can be stopped
// alone and reports its own end.
//
// Contract: RunPair starts both members, follows Runtime's contract for
// each (stdio, cleanup, exit statuses, errors), calls each member's Exited
// exactly once, as soon as that connector has ended and its output is fully
// copied, and returns after both. Cancelling ctx stops both; cancelling a
// member's Stop context stops that member alone.
type PairRuntime interface {
	Runtime
	RunPair(ctx context.Context, source, destination PairMember)
}

// PairMember is one connector of a pair.
type PairMember struct {
	Spec  ConnectorSpec
	Stdio Stdio
	// Stop ends this connector alone, as cancelling Run's context does. It
	// must be derived from RunPair's ctx.
	Stop context.Context
	// Exited receives what Run would have returned.
	Exited func(ExitStatus, error)
}

// runPair starts both connectors through rt: together when rt is a
// PairRuntime, else with one Run each. It returns at once; each member's
// Exited reports its end.
func runPair(ctx context.Context, rt Runtime, source, destination PairMember) {
	if pr, ok := rt.(PairRuntime); ok {
		go pr.RunPair(ctx, source, destination)
		return
	}
	for _, m := range []PairMember{source, destination} {
		go func() {
			st, err := rt.Run(m.Stop, m.Spec, m.Stdio)
			m.Exited(st, err)
		}()
	}
}
