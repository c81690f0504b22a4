package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/ferrysync/ferry/runner"
)

// progressLine redraws one status line on a terminal. On anything else it
// prints nothing: logs and pipes should not fill with carriage returns.
type progressLine struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	width int
}

func newProgressLine(w io.Writer) *progressLine {
	p := &progressLine{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progressLine) update(pr runner.Progress) {
	if !p.tty {
		return
	}
	secs := pr.Elapsed.Seconds()
	if secs <= 0 {
		secs = 1
	}
	line := fmt.Sprintf("%s  %d records  %.1f MB  %.0f records/s  %.1f MB/s  %d committed",
		pr.Elapsed.Truncate(time.Second), pr.Stats.RecordsEmitted, float64(pr.Stats.BytesEmitted)/1e6,
		float64(pr.Stats.RecordsEmitted)/secs, float64(pr.Stats.BytesEmitted)/1e6/secs, pr.Stats.RecordsCommitted)
	p.mu.Lock()
	defer p.mu.Unlock()
	pad := max(0, p.width-len(line))
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.width = len(line)
}

func (p *progressLine) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
		p.width = 0
	}
}

// printSummary prints the outcome, per-stream counts, the data channel and
// where the state and log went.
func printSummary(w io.Writer, res *runner.Result, f *syncFlags, logPath string) {
	d := res.Ended.Sub(res.Started)
	secs := max(d.Seconds(), 1e-9)
	channel := fmt.Sprintf("mode %s, %s", res.Mode, res.Format)
	if res.Sockets > 0 {
		channel += fmt.Sprintf(", %d sockets", res.Sockets)
	}
	if res.Bridge != "" {
		channel += ", bridge " + res.Bridge
	}
	status := string(res.Status)
	if res.Status == runner.StatusSucceeded && len(res.Warnings) > 0 {
		status += " with warnings (partial success)"
	}
	fmt.Fprintf(w, "sync %s in %s (%s)\n", status, d.Truncate(time.Millisecond), channel)
	bytes := syncedBytes(res.Stats.BytesEmitted, res.Stats.BytesCommitted)
	fmt.Fprintf(w, "%d records, %.1f MB: %.0f records/s, %.1f MB/s\n", res.Stats.RecordsEmitted,
		float64(bytes)/1e6, float64(res.Stats.RecordsEmitted)/secs, float64(bytes)/1e6/secs)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tSTATUS\tRECORDS\tBYTES\tCOMMITTED\tSTATES\t")
	for _, s := range res.Stats.Streams {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d/%d\t\n", s.Stream, orDash(s.Status), s.RecordsEmitted, syncedBytes(s.BytesEmitted, s.BytesCommitted),
			s.RecordsCommitted, s.StatesCommitted, s.StatesEmitted)
	}
	tw.Flush()
	for _, fl := range res.Failures {
		fmt.Fprintf(w, "failure (%s, %s): %s\n", fl.Origin, fl.Type, failureText(fl.ExternalMessage, fl.InternalMessage, fl.LastErrorLogs))
	}
	for _, wn := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wn)
	}
	for _, pe := range res.ProtocolErrors {
		fmt.Fprintf(w, "protocol error: %s\n", pe)
	}
	switch {
	case f.stateOut != "" && res.CommittedAnyState:
		fmt.Fprintf(w, "committed state written to %s\n", f.stateOut)
	case f.stateOut != "":
		fmt.Fprintf(w, "no state was acknowledged; %s is unchanged\n", f.stateOut)
	default:
		fmt.Fprintln(w, "no --state-out: the committed state was not saved")
	}
	if logPath != "" {
		fmt.Fprintf(w, "attempt log: %s\n", logPath)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// syncedBytes is the byte count the summary shows: the bytes Ferry
// forwarded or, in socket mode, where the records bypass Ferry and it
// counts none, the bytes the committed states account for.
func syncedBytes(emitted, committed int64) int64 {
	if emitted == 0 {
		return committed
	}
	return emitted
}
