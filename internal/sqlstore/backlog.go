package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/paygate/paygate"
)

// backlog counts what waits for the background work.
type backlog struct{ *store }

var _ paygate.BacklogStore = backlog{}

// Backlog counts on the partial indexes payments_in_doubt, refunds_pending,
// webhook_deliveries_due and mail_due, their conditions spelled as they are.
func (s backlog) Backlog(ctx context.Context, inDoubtBefore time.Time) (paygate.Backlog, error) {
	var b paygate.Backlog
	var refunds int64
	before := inDoubtBefore.UnixMicro()
	err := s.queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM payments WHERE status IN ('pending', 'capturing', 'voiding') AND updated_at < ?),
		(SELECT COUNT(*) FROM refunds WHERE status = 'pending' AND updated_at < ?),
		(SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'),
		(SELECT COUNT(*) FROM mail WHERE status = 'queued')`, before, before).Scan(&b.InDoubt, &refunds, &b.Webhooks, &b.Mail)
	if err != nil {
		return paygate.Backlog{}, fmt.Errorf("count backlog: %w", err)
	}
	b.InDoubt += refunds
	return b, nil
}
