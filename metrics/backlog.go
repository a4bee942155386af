package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/paygate/paygate"
	"github.com/prometheus/client_golang/prometheus"
)

// backlogCollector reads what waits in the database at each scrape: three
// indexed counts in one query, bounded by a timeout.
type backlogCollector struct {
	store        paygate.BacklogStore
	inDoubtAfter time.Duration
	inDoubt      *prometheus.Desc
	webhooks     *prometheus.Desc
	mail         *prometheus.Desc
	up           *prometheus.Desc
}

func newBacklogCollector(s paygate.BacklogStore, inDoubtAfter time.Duration) *backlogCollector {
	return &backlogCollector{store: s, inDoubtAfter: inDoubtAfter,
		inDoubt:  prometheus.NewDesc("paygate_in_doubt", "Payments and refunds whose exchange with the network is unfinished and older than --in-doubt-after: recovery owes them a reversal or a repeat. Should stay near 0.", nil, nil),
		webhooks: prometheus.NewDesc("paygate_webhook_queue_depth", "Post-back deliveries still to make (pending, due or retrying later).", nil, nil),
		mail:     prometheus.NewDesc("paygate_mail_queue_depth", "E-mail still to send (queued).", nil, nil),
		up:       prometheus.NewDesc("paygate_backlog_up", "1 if the database answered the backlog counts of this scrape, 0 if not.", nil, nil),
	}
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inDoubt
	ch <- c.webhooks
	ch <- c.mail
	ch <- c.up
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := c.store.Backlog(ctx, time.Now().Add(-c.inDoubtAfter))
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.inDoubt, prometheus.GaugeValue, float64(b.InDoubt))
	ch <- prometheus.MustNewConstMetric(c.webhooks, prometheus.GaugeValue, float64(b.Webhooks))
	ch <- prometheus.MustNewConstMetric(c.mail, prometheus.GaugeValue, float64(b.Mail))
}

func isErr(err, target error) bool { return errors.Is(err, target) }
