package web

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ferrysync/ferry/store"
)

// Metrics come from the store, read when Prometheus scrapes: the jobs
// table is the queue and the history, so it is the one place that is
// right even when jobs are triggered by another process on the same
// database. Gauges (jobs by status, queue depth) are counted afresh each
// scrape. Counters and the duration histogram account each job once, when
// a scrape first sees it ended; jobs that ended before the server started
// are not counted, so counters start at zero like any process's.
//
// To keep a scrape cheap on a long history, jobs are scanned newest first
// down to a watermark: every job at or below it has ended and been
// accounted. Jobs above it that ended are remembered in seen until the
// watermark passes them.

// scanPage is how many jobs a scrape reads per store call.
const scanPage = 100

var allJobStatuses = []store.JobStatus{store.JobPending, store.JobRunning, store.JobIncomplete,
	store.JobSucceeded, store.JobFailed, store.JobCancelled}

type metrics struct {
	store Store
	reg   *prometheus.Registry

	jobs       *prometheus.GaugeVec
	queueDepth prometheus.Gauge
	finished   *prometheus.CounterVec
	attempts   *prometheus.CounterVec
	records    prometheus.Counter
	bytes      prometheus.Counter
	duration   *prometheus.HistogramVec
	scrapeErrs prometheus.Counter

	mu        sync.Mutex
	watermark int64
	seen      map[int64]bool
}

func newMetrics(st Store) *metrics {
	m := &metrics{
		store: st,
		reg:   prometheus.NewRegistry(),
		seen:  map[int64]bool{},
		jobs: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ferry_jobs",
			Help: "Jobs by status, as stored now."}, []string{"status"}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ferry_queue_depth",
			Help: "Pending jobs waiting for a worker."}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_jobs_finished_total",
			Help: "Jobs that ended since the server started, by final status and type."}, []string{"status", "job_type"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_attempts_total",
			Help: "Attempts of the jobs that ended since the server started, by attempt status."}, []string{"status"}),
		records: prometheus.NewCounter(prometheus.CounterOpts{Name: "ferry_records_synced_total",
			Help: "Records the destinations committed, summed over the jobs that ended."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "ferry_bytes_synced_total",
			Help: "Bytes the destinations committed, summed over the jobs that ended."}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ferry_sync_duration_seconds",
			Help:    "Duration of the jobs that ended, from their first attempt's start to their end.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400}},
			[]string{"job_type", "status"}),
		scrapeErrs: prometheus.NewCounter(prometheus.CounterOpts{Name: "ferry_metrics_scrape_errors_total",
			Help: "Scrapes whose store reads failed; their values are from the scrape before."}),
	}
	m.reg.MustRegister(m.jobs, m.queueDepth, m.finished, m.attempts, m.records, m.bytes, m.duration, m.scrapeErrs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// baseline marks the jobs that already ended as seen, without counting.
func (m *metrics) baseline(ctx context.Context) error { return m.refresh(ctx, false) }

func (m *metrics) handler(log *slog.Logger) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.refresh(r.Context(), true); err != nil {
			m.scrapeErrs.Inc()
			log.Warn("metrics: read the store", "error", err)
		}
		h.ServeHTTP(w, r)
	})
}

// refresh reads the gauges and accounts newly ended jobs (only marks them
// seen when count is false).
func (m *metrics) refresh(ctx context.Context, count bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range allJobStatuses {
		_, total, err := m.store.Jobs(ctx, store.JobFilter{Status: st, Page: store.Page{Limit: 1}})
		if err != nil {
			return err
		}
		m.jobs.WithLabelValues(string(st)).Set(float64(total))
		if st == store.JobPending {
			m.queueDepth.Set(float64(total))
		}
	}
	var maxID, minActive int64
	for offset := 0; ; offset += scanPage {
		page, _, err := m.store.Jobs(ctx, store.JobFilter{Page: store.Page{Limit: scanPage, Offset: offset}})
		if err != nil {
			return err
		}
		done := len(page) < scanPage
		for _, j := range page {
			if j.ID <= m.watermark {
				done = true
				break
			}
			maxID = max(maxID, j.ID)
			if !j.Status.Terminal() {
				minActive = j.ID // ids come newest first: the last one is the lowest
				continue
			}
			if !m.seen[j.ID] {
				m.seen[j.ID] = true
				if count {
					m.account(ctx, j)
				}
			}
		}
		if done {
			break
		}
	}
	wm := maxID
	if minActive > 0 {
		wm = minActive - 1
	}
	if wm > m.watermark {
		m.watermark = wm
		for id := range m.seen {
			if id <= wm {
				delete(m.seen, id)
			}
		}
	}
	return nil
}

// account adds an ended job to the counters.
func (m *metrics) account(ctx context.Context, j *store.Job) {
	m.finished.WithLabelValues(string(j.Status), string(j.Type)).Inc()
	m.records.Add(float64(j.RecordsSynced))
	m.bytes.Add(float64(j.BytesSynced))
	if j.EndedAt != nil {
		start := j.CreatedAt
		if j.StartedAt != nil {
			start = *j.StartedAt
		}
		m.duration.WithLabelValues(string(j.Type), string(j.Status)).Observe(max(0, j.EndedAt.Sub(start).Seconds()))
	}
	full, err := m.store.Job(ctx, j.ID)
	if err != nil {
		return // deleted since: its attempts are gone with it
	}
	for _, a := range full.Attempts {
		m.attempts.WithLabelValues(string(a.Status)).Inc()
	}
}
