package runner

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// TestRoute is the whole message routing of every mode, as one table.
func TestRoute(t *testing.T) {
	const unknown = protocol.Type("SOMETHING_NEW")
	want := map[output]map[protocol.Type]action{
		sourceData: {
			protocol.TypeRecord: actForward, protocol.TypeState: actForwardState,
			protocol.TypeLog: actLog, protocol.TypeTrace: actTrace, protocol.TypeControl: actControl,
			protocol.TypeCatalog: actUnexpected, protocol.TypeSpec: actUnexpected, unknown: actUnknown,
		},
		sourceBooks: {
			protocol.TypeRecord: actDropRecord, protocol.TypeState: actStageState,
			protocol.TypeLog: actLog, protocol.TypeTrace: actTrace, protocol.TypeControl: actControl,
			protocol.TypeConnectionStatus: actUnexpected, unknown: actUnknown,
		},
		sourceCopies: {
			protocol.TypeRecord: actDropRecord, protocol.TypeState: actIgnore,
			protocol.TypeLog: actLog, protocol.TypeTrace: actTrace, protocol.TypeControl: actControl,
			unknown: actUnknown,
		},
		destinationOut: {
			protocol.TypeRecord: actDestinationStats, protocol.TypeState: actAcknowledge,
			protocol.TypeLog: actLog, protocol.TypeTrace: actTrace, protocol.TypeControl: actControl,
			protocol.TypeCatalog: actUnexpected, unknown: actUnknown,
		},
	}
	for out, types := range want {
		for typ, act := range types {
			if got := route(out, typ); got != act {
				t.Errorf("route(%d, %s) = %d, want %d", out, typ, got, act)
			}
		}
	}
	if roleOf(destinationOut) != RoleDestination || roleOf(sourceBooks) != RoleSource {
		t.Error("roleOf names the wrong connector")
	}
}

// pairRuntime is a PairRuntime over the fake runtime: it records that the
// attempt's connectors were started together.
type pairRuntime struct {
	*FakeRuntime
	pairs int
}

func (p *pairRuntime) RunPair(ctx context.Context, source, destination PairMember) {
	p.pairs++
	var wg sync.WaitGroup
	for _, m := range []PairMember{source, destination} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := p.Run(m.Stop, m.Spec, m.Stdio)
			m.Exited(st, err)
		}()
	}
	wg.Wait()
}

// TestSyncStartsAPairRuntimeOnce: a runtime that starts both connectors
// together gets one RunPair per attempt and no Run calls of its own, and
// the attempt behaves as with one Run per connector.
func TestSyncStartsAPairRuntimeOnce(t *testing.T) {
	cp := &memCheckpointer{}
	rt := &pairRuntime{FakeRuntime: &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1), streamStateLine("users", 1)), Destination: (&destRecorder{}).run}}
	res, err := Sync(context.Background(), rt, baseConfig(cp, nil, "users"))
	if err != nil {
		t.Fatalf("Sync: %v (%+v)", err, res.Failures)
	}
	if rt.pairs != 1 || len(rt.Specs()) != 2 {
		t.Fatalf("%d RunPair calls, %d connectors run; want 1 and 2", rt.pairs, len(rt.Specs()))
	}
	if !strings.Contains(stateJSON(t, cp.last()), `"cursor":1}`) {
		t.Fatalf("committed %s", stateJSON(t, cp.last()))
	}
}
