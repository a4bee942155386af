package sqlstore

import (
	"time"

	"cmp"
	"context"
	"slices"
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
// (merchant_id, created_at) index. The decline reasons come out of the
// same scan (grouped by code and reason too, summed here) rather than a
// second pass over the days: that pass cost as much as the first one.
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
		values = append(values, "(CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT))")
		args = append(args, i, d.UnixMicro(), end.UnixMicro(), paygate.IDFloor("pay", d), paygate.IDFloor("pay", end.Add(time.Millisecond)))
	}
	reason := `CASE WHEN ` + declinedSQL + ` THEN p.decline_code ELSE '' END`
	// A day's payments are found by their ids, which start with their
	// creation time (paygate.IDFloor): the (merchant_id, id) index serves
	// the range, created_at makes it exact.
	query := `WITH days (d, lo, hi, idlo, idhi) AS (VALUES ` + strings.Join(values, ", ") + `)
	SELECT days.d, p.currency, ` + reason + `, CASE WHEN ` + declinedSQL + ` THEN p.decline_reason ELSE '' END,
		CAST(SUM(CASE WHEN ` + approvedSQL + ` THEN 1 ELSE 0 END) AS BIGINT),
		CAST(SUM(CASE WHEN ` + approvedSQL + ` THEN p.amount ELSE 0 END) AS BIGINT),
		CAST(SUM(CASE WHEN ` + declinedSQL + ` THEN 1 ELSE 0 END) AS BIGINT)
	FROM days JOIN payments p ON p.merchant_id = ? AND p.id >= days.idlo AND p.id < days.idhi
		AND p.created_at >= days.lo AND p.created_at < days.hi
	GROUP BY 1, 2, 3, 4`
	type group struct {
		paygate.DayTotal
		code, reason string
	}
	groups, err := collect("payment stats", func(r Row) (group, error) {
		var g group
		err := r.Scan(&g.Day, &g.Currency, &g.code, &g.reason, &g.Approved, &g.Volume, &g.Declined)
		return g, err
	})(s.query(ctx, query, append(args, q.MerchantID)...))
	if err != nil {
		return nil, err
	}
	type dayCurrency struct {
		day      int
		currency string
	}
	totals := map[dayCurrency]*paygate.DayTotal{}
	declines := map[[2]string]int64{}
	for _, g := range groups {
		k := dayCurrency{g.Day, g.Currency}
		t := totals[k]
		if t == nil {
			t = &paygate.DayTotal{Day: g.Day, Currency: g.Currency}
			totals[k] = t
		}
		t.Approved += g.Approved
		t.Volume += g.Volume
		t.Declined += g.Declined
		if g.code != "" {
			declines[[2]string{g.code, g.reason}] += g.Declined
		}
	}
	for _, t := range totals {
		st.Totals = append(st.Totals, *t)
	}
	slices.SortFunc(st.Totals, func(a, b paygate.DayTotal) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), strings.Compare(a.Currency, b.Currency))
	})
	if q.TopDeclines <= 0 {
		return st, nil
	}
	for k, n := range declines {
		st.Declines = append(st.Declines, paygate.DeclineCount{Code: k[0], Reason: k[1], Count: n})
	}
	slices.SortFunc(st.Declines, func(a, b paygate.DeclineCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Code, b.Code), strings.Compare(a.Reason, b.Reason))
	})
	if len(st.Declines) > q.TopDeclines {
		st.Declines = st.Declines[:q.TopDeclines]
	}
	return st, nil
}
