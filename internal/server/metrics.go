package server

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/scanners"
)

// storeSnapshotTTL bounds how often a scrape reads the whole store: the
// gauges from the store are at most this old.
const storeSnapshotTTL = 15 * time.Second

// leadTimeBuckets are the histogram buckets of lead times in seconds:
// one minute to thirty days.
var leadTimeBuckets = []float64{60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400}

// metrics are the server's Prometheus metrics.
type metrics struct {
	reg          *prometheus.Registry
	runs         *prometheus.CounterVec
	runDuration  *prometheus.HistogramVec
	published    prometheus.Counter
	publishFails prometheus.Counter
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
}

func newMetrics(db *state.DB) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_runs_total",
		Help: "Syncs finished, by trigger (api, schedule, missed, resume) and status."}, []string{"trigger", "status"})
	m.runDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_run_duration_seconds",
		Help:    "Duration of finished syncs, by status.",
		Buckets: prometheus.ExponentialBuckets(0.5, 2, 14)}, []string{"status"})
	m.published = prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_artifacts_published_total",
		Help: "Artifacts published to a mirror by this server's syncs (deployment frequency)."})
	m.publishFails = prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_publish_failures_total",
		Help: "Publish attempts that failed (change failure rate, with sluice_artifacts_published_total)."})
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_http_requests_total",
		Help: "HTTP requests, by route pattern and status code."}, []string{"route", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sluice_http_request_duration_seconds", Help: "HTTP request duration, by route pattern.",
		Buckets: prometheus.DefBuckets}, []string{"route"})
	m.reg.MustRegister(m.runs, m.runDuration, m.published, m.publishFails, m.httpRequests, m.httpDuration,
		&storeCollector{db: db}, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) observeHTTP(route string, code int, d time.Duration) {
	m.httpRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) observeRun(r *Run) {
	m.runs.WithLabelValues(r.Trigger, r.Status).Inc()
	if !r.Started.IsZero() {
		m.runDuration.WithLabelValues(r.Status).Observe(r.Finished.Sub(r.Started).Seconds())
	}
}

// countingPublisher counts failed publishes.
type countingPublisher struct {
	ingest.Publisher
	m *metrics
}

func (c countingPublisher) Publish(ctx context.Context, a *state.Artifact,
	tarball func() (*os.File, error)) (bool, error) {
	present, err := c.Publisher.Publish(ctx, a, tarball)
	if err != nil && ctx.Err() == nil {
		c.m.publishFails.Inc()
	}
	return present, err
}

var (
	descArtifacts = prometheus.NewDesc("sluice_artifacts", "Artifacts in the store, by state and ecosystem.",
		[]string{"state", "ecosystem"}, nil)
	descFindings = prometheus.NewDesc("sluice_findings",
		"Unsuppressed vulnerability findings of stored scan results, by severity.", []string{"severity"}, nil)
	descQueue = prometheus.NewDesc("sluice_approval_queue_length", "Pending approval requests.", nil, nil)
	descLead  = prometheus.NewDesc("sluice_approval_lead_time_seconds",
		"Lead time from request to publication of published artifacts (DORA lead time for changes).", nil, nil)
	descWait = prometheus.NewDesc("sluice_approval_wait_seconds",
		"Time published artifacts spent awaiting approval.", nil, nil)
)

// storeCollector reports gauges and histograms computed from the state
// store, cached for storeSnapshotTTL.
type storeCollector struct {
	db     *state.DB
	mu     sync.Mutex
	at     time.Time
	cached []prometheus.Metric
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descArtifacts, descFindings, descQueue, descLead, descWait} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > storeSnapshotTTL {
		ms, err := c.snapshot()
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descArtifacts, err)
			return
		}
		c.cached, c.at = ms, time.Now()
	}
	for _, m := range c.cached {
		ch <- m
	}
}

func (c *storeCollector) snapshot() ([]prometheus.Metric, error) {
	var out []prometheus.Metric
	type stateKey struct{ state, eco string }
	counts := map[stateKey]int{}
	arts, err := c.db.Artifacts(nil)
	if err != nil {
		return nil, err
	}
	digests := map[string]string{}
	for _, a := range arts {
		counts[stateKey{string(a.State), string(a.Ecosystem)}]++
		digests[a.Key()] = a.Digest
	}
	for k, n := range counts {
		out = append(out, prometheus.MustNewConstMetric(descArtifacts, prometheus.GaugeValue, float64(n), k.state, k.eco))
	}
	results, err := scanners.LoadResults(c.db)
	if err != nil {
		return nil, err
	}
	sev := map[scanners.Severity]int{}
	for _, s := range []scanners.Severity{scanners.SeverityCritical, scanners.SeverityHigh,
		scanners.SeverityMedium, scanners.SeverityLow, scanners.SeverityNegligible, scanners.SeverityUnknown} {
		sev[s] = 0
	}
	for _, r := range results {
		for _, f := range r.Findings {
			if f.Kind == scanners.KindVulnerability && !f.Suppressed {
				sev[f.Severity]++
			}
		}
	}
	for s, n := range sev {
		out = append(out, prometheus.MustNewConstMetric(descFindings, prometheus.GaugeValue, float64(n), string(s)))
	}
	pending, err := approvals.Requests(c.db, func(r *approvals.Request) bool {
		return r.Status == approvals.StatusPending
	})
	if err != nil {
		return nil, err
	}
	out = append(out, prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(len(pending))))
	lead, wait, err := c.leadTimes()
	if err != nil {
		return nil, err
	}
	return append(out, lead, wait), nil
}

// leadTimes builds the lead time and approval wait histograms in one pass
// over the ledger.
func (c *storeCollector) leadTimes() (prometheus.Metric, prometheus.Metric, error) {
	entries, err := c.db.Ledger("")
	if err != nil {
		return nil, nil, err
	}
	bySubject := map[string][]state.Entry{}
	for _, e := range entries {
		if e.Type == state.EntryTransition {
			bySubject[e.Subject] = append(bySubject[e.Subject], e)
		}
	}
	lead, wait := newConstHistogram(), newConstHistogram()
	for _, es := range bySubject {
		lt, ok := approvals.LeadTimeOf(es)
		if !ok || lt.Published.IsZero() {
			continue
		}
		lead.observe(lt.Total.Seconds())
		wait.observe(lt.Waiting.Seconds())
	}
	return lead.metric(descLead), wait.metric(descWait), nil
}

type constHistogram struct {
	count   uint64
	sum     float64
	buckets map[float64]uint64
}

func newConstHistogram() *constHistogram {
	h := &constHistogram{buckets: map[float64]uint64{}}
	for _, b := range leadTimeBuckets {
		h.buckets[b] = 0
	}
	return h
}

func (h *constHistogram) observe(v float64) {
	h.count++
	h.sum += v
	for _, b := range leadTimeBuckets {
		if v <= b {
			h.buckets[b]++
		}
	}
}

func (h *constHistogram) metric(d *prometheus.Desc) prometheus.Metric {
	return prometheus.MustNewConstHistogram(d, h.count, h.sum, h.buckets)
}
