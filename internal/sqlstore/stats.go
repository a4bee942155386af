package sqlstore

import (
	"context"
	"strings"

	"github.com/paygate/paygate"
)

// approved is the SQL of paygate.Payment.Approved; declined counts the
// payments the network turned down or never answered.
const (
	approvedSQL = `(auth_code <> '' AND response_code = '00')`
	declinedSQL = `(status IN ('declined', 'failed'))`
)

// PaymentStats sums a merchant's payments per day and currency, each day a
// range of creation times given by the caller (so that days are the
// merchant's, daylight saving included), by one range scan per day of the
// (merchant_id, created_at) index.
func (s payments) PaymentStats(ctx context.Context, q paygate.StatsQuery) (*paygate.PaymentStats, error) {
	st := &paygate.PaymentStats{}
	if len(q.Days) == 0 {
		return st, nil
	}
	var values []string
	var args []any
	for i, d := range q.Days {
		end := q.End
		if i+1 < len(q.Days) {
			end = q.Days[i+1]
		}
		values = append(values, "(CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS BIGINT))")
		args = append(args, i, d.UnixMicro(), end.UnixMicro())
	}
	query := `WITH days (d, lo, hi) AS (VALUES ` + strings.Join(values, ", ") + `)
	SELECT days.d, p.currency,
		CAST(SUM(CASE WHEN ` + approvedSQL + ` THEN 1 ELSE 0 END) AS BIGINT),
		CAST(SUM(CASE WHEN ` + approvedSQL + ` THEN p.amount ELSE 0 END) AS BIGINT),
		CAST(SUM(CASE WHEN ` + declinedSQL + ` THEN 1 ELSE 0 END) AS BIGINT)
	FROM days JOIN payments p ON p.merchant_id = ? AND p.created_at >= days.lo AND p.created_at < days.hi
	GROUP BY days.d, p.currency ORDER BY days.d, p.currency`
	totals, err := collect("payment stats", func(r Row) (paygate.DayTotal, error) {
		var t paygate.DayTotal
		err := r.Scan(&t.Day, &t.Currency, &t.Approved, &t.Volume, &t.Declined)
		return t, err
	})(s.query(ctx, query, append(args, q.MerchantID)...))
	if err != nil {
		return nil, err
	}
	st.Totals = totals
	if q.TopDeclines <= 0 {
		return st, nil
	}
	st.Declines, err = collect("decline stats", func(r Row) (paygate.DeclineCount, error) {
		var d paygate.DeclineCount
		err := r.Scan(&d.Code, &d.Reason, &d.Count)
		return d, err
	})(s.query(ctx, `SELECT decline_code, decline_reason, COUNT(*) FROM payments
		WHERE merchant_id = ? AND created_at >= ? AND created_at < ? AND `+declinedSQL+` AND decline_code <> ''
		GROUP BY decline_code, decline_reason ORDER BY COUNT(*) DESC, decline_code LIMIT ?`,
		q.MerchantID, q.Days[0].UnixMicro(), q.End.UnixMicro(), q.TopDeclines))
	return st, err
}
