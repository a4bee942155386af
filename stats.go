package paygate

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// StatsQuery asks for a merchant's payment statistics over whole days of
// its time zone: Days[i] is the day that begins at Days[i] (local midnight).
type StatsQuery struct {
	MerchantID  string
	Days        []time.Time // the start of each day, ascending; a day ends where the next begins
	End         time.Time   // where the last day ends
	TopDeclines int         // how many decline reasons to return
}

// DayTotal is what one day of one currency held.
type DayTotal struct {
	Day      int    // index into StatsQuery.Days
	Currency string // ISO 4217 code
	Approved int64  // number of approved payments
	Volume   int64  // their authorized amount, minor units
	Declined int64  // declined or failed: the network said no, or never answered
}

// DeclineCount is how often one decline reason was given.
type DeclineCount struct {
	Code   string // DeclineCode
	Reason string // DeclineReason
	Count  int64
}

// PaymentStats is what a store returns for a StatsQuery.
type PaymentStats struct {
	Totals   []DayTotal     // days with no payments are left out
	Declines []DeclineCount // most frequent first
}

// Overview is a merchant's last days as the dashboard shows them.
type Overview struct {
	Days       []time.Time // local midnights, oldest first
	Currencies []CurrencySeries
	Declines   []DeclineCount
	Approved   int64
	Declined   int64
}

// CurrencySeries is one currency's daily figures, one entry per day.
type CurrencySeries struct {
	Currency Currency
	Volume   []int64
	Count    []int64
	Total    int64 // Σ Volume
}

// ApprovalRate is the share of answered payments that were approved, in
// per mille (0 when there were none), so that it stays an integer.
func (o *Overview) ApprovalRate() int64 {
	n := o.Approved + o.Declined
	if n == 0 {
		return 0
	}
	return (o.Approved*1000 + n/2) / n
}

// Overview sums up the merchant's payments for the last days (30 if days is
// 0), each day a whole day in the merchant's time zone, today included.
func (g *Gateway) Overview(ctx context.Context, m *Merchant, days int) (*Overview, error) {
	if days <= 0 {
		days = 30
	}
	loc := time.UTC
	if m.TimeZone != "" {
		l, err := time.LoadLocation(m.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("time zone of %s: %w", m.ID, err)
		}
		loc = l
	}
	now := g.now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	q := StatsQuery{MerchantID: m.ID, TopDeclines: 5, End: today.AddDate(0, 0, 1)}
	for i := days - 1; i >= 0; i-- {
		q.Days = append(q.Days, today.AddDate(0, 0, -i)) // AddDate keeps midnight across DST
	}
	st, err := g.Payments.PaymentStats(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("payment stats: %w", err)
	}
	o := &Overview{Days: q.Days, Declines: st.Declines}
	series := map[string]*CurrencySeries{}
	for _, t := range st.Totals {
		o.Approved += t.Approved
		o.Declined += t.Declined
		if t.Approved == 0 {
			continue
		}
		s := series[t.Currency]
		if s == nil {
			c, _ := LookupCurrency(t.Currency)
			s = &CurrencySeries{Currency: c, Volume: make([]int64, days), Count: make([]int64, days)}
			series[t.Currency] = s
		}
		s.Volume[t.Day] += t.Volume
		s.Count[t.Day] += t.Approved
		s.Total += t.Volume
	}
	for _, s := range series {
		o.Currencies = append(o.Currencies, *s)
	}
	// The busiest currency first, then by code: a stable order.
	sortSeries(o.Currencies)
	return o, nil
}

func sortSeries(s []CurrencySeries) {
	slices.SortFunc(s, func(a, b CurrencySeries) int {
		if c := cmp.Compare(b.Total, a.Total); c != 0 {
			return c
		}
		return strings.Compare(a.Currency.Code, b.Currency.Code)
	})
}
