package sqlstore

import (
	"time"

	"context"
	"slices"
	"strings"

	"github.com/paygate/paygate"
)

// Payments lists a merchant's payments, newest first, one page at a time,
// filtered and searched (paygate.PaymentFilter). Each term of a search is
// an equality one index answers (migration 0012), so a search reads only
// the payments it finds; pages are keyset pages on the id.
func (s payments) Payments(ctx context.Context, f paygate.PaymentFilter) ([]*paygate.Payment, bool, error) {
	where := []string{"merchant_id = ?"}
	args := []any{f.MerchantID}
	add := func(cond string, a ...any) {
		where, args = append(where, cond), append(args, a...)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if f.OrderID != "" {
		add("order_id = ? AND order_id <> ''", f.OrderID) // payments_order is partial
	}
	if f.Currency != "" {
		add("currency = ?", strings.ToUpper(f.Currency))
	}
	if f.Channel != "" {
		add("channel = ?", string(f.Channel))
	}
	// A payment's id starts with its creation time (paygate.NewID), so a
	// range of creation times is a range of ids, which the (merchant_id,
	// id) index serves; created_at keeps the bounds exact to the
	// microsecond.
	if !f.CreatedGTE.IsZero() {
		add("id >= ? AND created_at >= ?", paygate.IDFloor("pay", f.CreatedGTE), f.CreatedGTE.UnixMicro())
	}
	if !f.CreatedLTE.IsZero() {
		add("id < ? AND created_at <= ?", paygate.IDFloor("pay", f.CreatedLTE.Add(time.Millisecond)), f.CreatedLTE.UnixMicro())
	}
	if t, ok := f.SearchTerms(); ok {
		cond, a := s.searchCondition(t)
		add(cond, a...)
	}
	order := "DESC"
	switch {
	case f.StartingAfter != "":
		add("id < ?", f.StartingAfter)
	case f.EndingBefore != "":
		add("id > ?", f.EndingBefore)
		order = "ASC" // the page just newer than the cursor, reversed below
	}
	list, err := s.list(ctx, strings.Join(where, " AND ")+` ORDER BY id `+order+` LIMIT ?`, append(args, f.Limit+1)...)
	if err != nil {
		return nil, false, err
	}
	more := len(list) > f.Limit
	if more {
		list = list[:f.Limit]
	}
	if order == "ASC" {
		slices.Reverse(list)
	}
	return list, more, nil
}

// searchCondition is the condition that a payment matches any of t's terms.
func (s payments) searchCondition(t paygate.SearchTerms) (string, []any) {
	// payments_order and payments_email leave out empty values: each
	// term says so, for the planner to use them (migration 0017).
	or := []string{"id = ?", "(order_id = ? AND order_id <> '')", "confirmation_number = ?"}
	args := []any{t.Text, t.Text, t.Text}
	if t.Last4 != "" {
		or, args = append(or, "last4 = ?"), append(args, t.Last4)
	}
	if t.Email != "" {
		or, args = append(or, "(lower(receipt_email) = ? AND receipt_email <> '')"), append(args, t.Email)
	}
	for _, a := range t.Amounts {
		in, codes := s.d.AnyOf("currency", a.Currencies)
		or, args = append(or, "(amount = ? AND "+in+")"), append(append(args, a.Amount), codes...)
	}
	return "(" + strings.Join(or, " OR ") + ")", args
}
