package runner

import (
	"fmt"

	"github.com/ferrysync/ferry/protocol"
)

// HonestyWarnings returns why a succeeded attempt is not a plain success
// (G11), then the attempt's own warnings (count mismatches, states never
// acknowledged), without repeats. A succeeded attempt is plain only when
// it committed state, every record it forwarded is covered by an
// acknowledged state, and no stream the source reported on ended short of
// COMPLETE. The daemon and ferry sync both judge by it, so a sync's status
// reads the same in the API, the job list, webhooks and exit codes.
func HonestyWarnings(res *Result) []string {
	var out []string
	if !res.CommittedAnyState {
		out = append(out, "the destination acknowledged no state: nothing this sync wrote is known to be durable, and the next sync starts again from the last committed state")
	}
	reported := false
	for _, st := range res.Stats.Streams {
		if st.Status != "" {
			reported = true
		}
	}
	for _, st := range res.Stats.Streams {
		if res.CommittedAnyState && st.RecordsEmitted > st.RecordsCommitted {
			out = append(out, fmt.Sprintf("stream %s: %d of %d records are not covered by an acknowledged state",
				st.Stream, st.RecordsEmitted-st.RecordsCommitted, st.RecordsEmitted))
		}
		if reported && st.Status != protocol.StreamComplete {
			status := st.Status
			if status == "" {
				status = "none"
			}
			out = append(out, fmt.Sprintf("stream %s: the source did not report it complete (last status: %s)", st.Stream, status))
		}
	}
	for _, w := range res.Warnings {
		if !containsText(out, w) {
			out = append(out, w)
		}
	}
	return out
}

func containsText(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
