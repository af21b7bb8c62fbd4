package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series, on a registry of its own
// (no package globals: two servers in one test process do not collide).
type metrics struct {
	reg        *prometheus.Registry
	deliveries *prometheus.CounterVec   // event, outcome
	rejections *prometheus.CounterVec   // reason
	dedupes    prometheus.Counter       // duplicate delivery ids
	ack        prometheus.Histogram     // time to the answer of a POST /webhook
	journal    prometheus.Histogram     // time to journal (and fsync) one delivery
	handling   *prometheus.HistogramVec // event, command
	reconciled *prometheus.CounterVec   // result
}

// Delivery outcomes (label "outcome").
const (
	outcomeAccepted  = "accepted"  // journaled and queued
	outcomeIgnored   = "ignored"   // answered 202, no work to do
	outcomeRecorded  = "recorded"  // journaled as done: ping, installation
	outcomeDuplicate = "duplicate" // the id was journaled before
	outcomeHandled   = "handled"   // the work finished
	outcomeFailed    = "failed"    // the work failed and will not be retried
	outcomeDropped   = "dropped"   // a command whose pull request closed before it ran
)

func newMetrics(q *queue) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runway_webhook_deliveries_total", Help: "Webhook deliveries by event and outcome (accepted, recorded, ignored, duplicate, handled, failed).",
		}, []string{"event", "outcome"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runway_webhook_rejections_total", Help: "Webhook requests refused, by reason.",
		}, []string{"reason"}),
		dedupes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "runway_webhook_dedupes_total", Help: "Deliveries whose X-GitHub-Delivery the journal held already.",
		}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "runway_webhook_ack_seconds", Help: "Time from a webhook request to its answer (journaled and fsynced for a 202).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}),
		journal: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "runway_webhook_journal_seconds", Help: "Time to journal one delivery, fsync and group commit included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}),
		handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "runway_webhook_handling_seconds", Help: "Time a worker spent on a delivery, by event and command.",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 10),
		}, []string{"event", "command"}),
		reconciled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runway_webhook_reconcile_total", Help: "Failed deliveries found by the reconciler, by result (redelivered, known, error).",
		}, []string{"result"}),
	}
	m.reg.MustRegister(m.deliveries, m.rejections, m.dedupes, m.ack, m.journal, m.handling, m.reconciled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "runway_webhook_queue_depth", Help: "Deliveries journaled and waiting for a worker.",
		}, func() float64 { d, _, _ := q.stats(); return float64(d) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "runway_webhook_queue_oldest_age_seconds", Help: "Age of the oldest delivery not finished.",
		}, func() float64 { _, _, o := q.stats(); return o.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "runway_webhook_workers_busy", Help: "Workers handling a delivery.",
		}, func() float64 { _, r, _ := q.stats(); return float64(r) }),
	)
	return m
}
