package web

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferrysync/ferry/store"
)

// The live half of the job page. The page is drawn with the job as
// stored; while it runs, the log stream's "progress" events (sse.go)
// carry a progressView of the latest attempt about once a second, and the
// script puts its texts in place and adds a point to the chart. The
// figures are formatted here, once, so the page and the events agree and
// the script stays small.

// progressView is the latest attempt's figures: the page's live panel,
// and the data of each SSE progress event.
type progressView struct {
	Attempt   int    `json:"attempt"`
	Status    string `json:"status"`
	JobStatus string `json:"jobStatus"`
	Running   bool   `json:"running"`
	// ElapsedMs is the attempt's run time so far, or in all once ended.
	ElapsedMs int64 `json:"elapsedMs"`
	// Duration is the job's, written for people; JobDurationMs the same
	// in milliseconds, for the script's clock between events.
	Duration         string           `json:"duration"`
	JobDurationMs    int64            `json:"jobDurationMs"`
	RecordsEmitted   int64            `json:"recordsEmitted"`
	BytesEmitted     int64            `json:"bytesEmitted"`
	RecordsCommitted int64            `json:"recordsCommitted"`
	BytesCommitted   int64            `json:"bytesCommitted"`
	Emitted          string           `json:"emitted"`
	Committed        string           `json:"committed"`
	JobCommitted     string           `json:"jobCommitted"`
	CommittedState   bool             `json:"committedState"`
	RecordsPerSec    string           `json:"recordsPerSec"`
	MBPerSec         string           `json:"mbPerSec"`
	Streams          []streamStatsRow `json:"streams"`
}

// newProgressView describes attempt a of job j at now. Rates are the
// attempt's averages; the script replaces them with the rates between
// events while the attempt runs.
func newProgressView(j *store.Job, a *store.Attempt, now time.Time) progressView {
	end := now
	if a.EndedAt != nil {
		end = *a.EndedAt
	}
	elapsed := max(end.Sub(a.StartedAt), 0)
	var jobDur time.Duration
	if j.StartedAt != nil {
		jobEnd := now
		if j.EndedAt != nil {
			jobEnd = *j.EndedAt
		}
		jobDur = max(jobEnd.Sub(*j.StartedAt), 0)
	}
	st := a.Stats
	p := progressView{Attempt: a.Number, Status: string(a.Status), JobStatus: string(j.Status),
		Running: a.Status == store.AttemptRunning, ElapsedMs: elapsed.Milliseconds(),
		Duration: humanDuration(jobDur), JobDurationMs: jobDur.Milliseconds(),
		RecordsEmitted: st.RecordsEmitted, BytesEmitted: st.BytesEmitted,
		RecordsCommitted: st.RecordsCommitted, BytesCommitted: st.BytesCommitted,
		Emitted:        count(st.RecordsEmitted) + " records, " + byteSize(st.BytesEmitted),
		Committed:      count(st.RecordsCommitted) + " records, " + byteSize(st.BytesCommitted),
		JobCommitted:   count(j.RecordsSynced) + " records, " + byteSize(j.BytesSynced),
		CommittedState: a.CommittedState, Streams: []streamStatsRow{}}
	if j.StartedAt == nil {
		p.Duration = "—"
	}
	p.RecordsPerSec, p.MBPerSec = rates(st.RecordsEmitted, st.BytesEmitted, elapsed)
	for _, s := range a.Stats.Streams {
		p.Streams = append(p.Streams, streamStatsRow{Stream: s.Stream.String(), Status: s.Status,
			RecordsEmitted: s.RecordsEmitted, BytesEmitted: s.BytesEmitted,
			RecordsCommitted: s.RecordsCommitted, BytesCommitted: s.BytesCommitted,
			StatesEmitted: s.StatesEmitted, StatesCommitted: s.StatesCommitted})
	}
	return p
}

// rates writes records/s and MB/s (10^6 bytes, as network rates are
// written) over d.
func rates(records, bytes int64, d time.Duration) (string, string) {
	if d <= 0 {
		return "0", "0.00"
	}
	s := d.Seconds()
	return strconv.FormatFloat(float64(records)/s, 'f', 1, 64), strconv.FormatFloat(float64(bytes)/s/1e6, 'f', 2, 64)
}

// chartView is the throughput chart: records per second over the
// attempt's run, as an inline SVG polyline. Samples are the recorded
// cumulative counts, [elapsed ms, records, bytes], from which the script
// redraws the line as events add points.
type chartView struct {
	Points  string `json:"points"`
	Count   int    `json:"count"`
	Samples string `json:"samples"`
	Peak    string `json:"peak"`
	Span    string `json:"span"`
}

// The chart's drawing box; the SVG scales it to the page's width.
const (
	chartWidth  = 600
	chartHeight = 160
	chartTop    = 10 // headroom above the peak
)

// newChart draws the attempt's samples, ending with the attempt's final
// counts once it has ended.
func newChart(samples []store.Sample, a *store.Attempt, now time.Time) chartView {
	pts := [][3]int64{{0, 0, 0}}
	for _, s := range samples {
		pts = append(pts, [3]int64{s.Elapsed.Milliseconds(), s.RecordsEmitted, s.BytesEmitted})
	}
	if a.EndedAt != nil {
		end := a.EndedAt.Sub(a.StartedAt).Milliseconds()
		if end > pts[len(pts)-1][0] {
			pts = append(pts, [3]int64{end, a.Stats.RecordsEmitted, a.Stats.BytesEmitted})
		}
	}
	raw, _ := json.Marshal(pts)
	line, peak := chartLine(pts)
	return chartView{Points: line, Count: len(pts), Samples: string(raw),
		Peak: strconv.FormatFloat(peak, 'f', 1, 64), Span: humanDuration(time.Duration(pts[len(pts)-1][0]) * time.Millisecond)}
}

// chartLine turns cumulative samples into the polyline of the rate
// between each sample and the one before, scaled to the drawing box; it
// returns the points and the peak rate. ferry.js's drawChart is the same
// computation for the live page.
func chartLine(pts [][3]int64) (string, float64) {
	type point struct{ t, rate float64 }
	line := []point{{0, 0}}
	peak := 0.0
	for i := 1; i < len(pts); i++ {
		dt := float64(pts[i][0]-pts[i-1][0]) / 1000
		if dt <= 0 {
			continue
		}
		r := float64(pts[i][1]-pts[i-1][1]) / dt
		line = append(line, point{float64(pts[i][0]), r})
		peak = max(peak, r)
	}
	span := max(line[len(line)-1].t, 1)
	top := max(peak, 1)
	var b strings.Builder
	for i, p := range line {
		if i > 0 {
			b.WriteByte(' ')
		}
		x := p.t / span * chartWidth
		y := chartHeight - p.rate/top*(chartHeight-chartTop)
		fmt.Fprintf(&b, "%.1f,%.1f", x, y)
	}
	return b.String(), peak
}
