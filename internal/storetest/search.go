package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var searchTests = []test{
	{"Search", testPaymentsSearch},
	{"PageBack", testPaymentsPageBack},
	{"CreatedRange", testPaymentsCreatedRange},
	{"Stats", testPaymentStats},
}

func testPaymentsSearch(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	mk := func(merchantID string, i int, edit func(p *paygate.Payment)) *paygate.Payment {
		p := NewPayment(t, merchantID, Base.Add(time.Duration(i)*time.Minute))
		p.Card.Last4, p.Amount, p.ReceiptEmail = "1111", 999, ""
		edit(p)
		MustCreatePayment(t, s.Payments, p)
		return p
	}
	ps := []*paygate.Payment{
		mk(m.ID, 0, func(p *paygate.Payment) { p.Card.Last4, p.Channel = "4242", "" }),
		mk(m.ID, 1, func(p *paygate.Payment) { p.Amount = 1250 }),
		mk(m.ID, 2, func(p *paygate.Payment) { p.Amount, p.Currency = 1250, MustCurrency(t, "JPY") }),
		mk(m.ID, 3, func(p *paygate.Payment) { p.ReceiptEmail = "Ann.Lee@Example.com" }),
		mk(m.ID, 4, func(p *paygate.Payment) { p.OrderID = "4242" }),
		mk(m.ID, 5, func(p *paygate.Payment) { p.Channel = paygate.ChannelMOTO; p.Amount = 125000 }),
		mk(m.ID, 6, func(p *paygate.Payment) { p.Currency = MustCurrency(t, "EUR"); p.Status = paygate.StatusDeclined }),
	}
	// The other merchant's payments match every term and are never found.
	mk(other.ID, 0, func(p *paygate.Payment) {
		p.Card.Last4, p.Amount, p.ReceiptEmail, p.OrderID = "4242", 1250, "ann.lee@example.com", ps[1].OrderID
	})
	at := func(i ...int) []string {
		var out []string
		for _, j := range i {
			out = append(out, ps[j].ID)
		}
		return out
	}
	tests := []struct {
		name string
		f    paygate.PaymentFilter
		want []string
	}{
		{"id", paygate.PaymentFilter{Query: ps[3].ID}, at(3)},
		{"id with spaces", paygate.PaymentFilter{Query: "  " + ps[3].ID + " "}, at(3)},
		{"order id", paygate.PaymentFilter{Query: ps[1].OrderID}, at(1)},
		{"confirmation number", paygate.PaymentFilter{Query: ps[2].ConfirmationNumber}, at(2)},
		{"confirmation number lower case", paygate.PaymentFilter{Query: "pg-" + ps[2].ConfirmationNumber[3:]}, at(2)},
		{"last 4 or order id", paygate.PaymentFilter{Query: "4242"}, at(4, 0)},
		{"amount in major units", paygate.PaymentFilter{Query: "12.50"}, at(1)},
		{"amount of any exponent", paygate.PaymentFilter{Query: "1250"}, at(5, 2)},
		{"amount grouped", paygate.PaymentFilter{Query: "1,250.00"}, at(5)},
		{"amount in a currency", paygate.PaymentFilter{Query: "1250", Currency: "USD"}, at(5)},
		{"amount in a currency of another exponent", paygate.PaymentFilter{Query: "12.50", Currency: "JPY"}, nil},
		{"e-mail any case", paygate.PaymentFilter{Query: "ann.lee@EXAMPLE.com"}, at(3)},
		{"nothing", paygate.PaymentFilter{Query: "no-such-thing"}, nil},
		{"currency", paygate.PaymentFilter{Currency: "jpy"}, at(2)},
		{"channel", paygate.PaymentFilter{Channel: paygate.ChannelMOTO}, at(5)},
		{"ecommerce", paygate.PaymentFilter{Channel: paygate.ChannelEcommerce, Status: paygate.StatusDeclined}, at(6)},
		{"query and range", paygate.PaymentFilter{Query: "9.99", CreatedGTE: ps[3].CreatedAt}, at(6, 4, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			f.MerchantID, f.Limit = m.ID, 100
			list, _ := mustList(t, s.Payments, f)
			if got := ids(list); !slices.Equal(got, tt.want) {
				t.Errorf("ids: got %v, want %v", got, tt.want)
			}
		})
	}
	got := MustPayment(t, s.Payments, m.ID, ps[5].ID)
	if got.Channel != paygate.ChannelMOTO {
		t.Errorf("channel: got %q, want %q", got.Channel, paygate.ChannelMOTO)
	}
	if got := MustPayment(t, s.Payments, m.ID, ps[0].ID); got.Channel != paygate.ChannelEcommerce {
		t.Errorf("channel of a payment saved without one: got %q, want %q", got.Channel, paygate.ChannelEcommerce)
	}
}

// A range of creation times is exact to the microsecond, though the store
// finds it by the ids' milliseconds (paygate.IDFloor): payments made within
// one millisecond fall on either side of a bound inside it.
func testPaymentsCreatedRange(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	offsets := []time.Duration{0, time.Microsecond, 999 * time.Microsecond, time.Millisecond, time.Millisecond + time.Microsecond, 2 * time.Millisecond}
	var ps []*paygate.Payment
	for _, d := range offsets {
		p := NewPayment(t, m.ID, Base.Add(d))
		MustCreatePayment(t, s.Payments, p)
		ps = append(ps, p)
	}
	at := func(i ...int) []string {
		var out []string
		for _, j := range i {
			out = append(out, ps[j].ID)
		}
		return out
	}
	tests := []struct {
		name     string
		gte, lte time.Duration // from Base; -1: none
		want     []string
	}{
		{"from inside a millisecond", time.Microsecond, -1, at(5, 4, 3, 2, 1)},
		{"to inside a millisecond", -1, 999 * time.Microsecond, at(2, 1, 0)},
		{"both inside", time.Microsecond, time.Millisecond, at(3, 2, 1)},
		{"one microsecond", time.Millisecond + time.Microsecond, time.Millisecond + time.Microsecond, at(4)},
		{"empty", 2*time.Millisecond + time.Microsecond, -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := paygate.PaymentFilter{MerchantID: m.ID, Limit: 100}
			if tt.gte >= 0 {
				f.CreatedGTE = Base.Add(tt.gte)
			}
			if tt.lte >= 0 {
				f.CreatedLTE = Base.Add(tt.lte)
			}
			list, _ := mustList(t, s.Payments, f)
			// Ids of one millisecond sort in no particular order.
			got, want := ids(list), slices.Clone(tt.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("ids: got %v, want %v", got, want)
			}
		})
	}
}

// EndingBefore walks back the pages StartingAfter walked forward.
func testPaymentsPageBack(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	var all []string // newest first
	for i := range 12 {
		p := NewPayment(t, m.ID, Base.Add(time.Duration(i)*time.Second))
		MustCreatePayment(t, s.Payments, p)
		all = append([]string{p.ID}, all...)
	}
	f := paygate.PaymentFilter{MerchantID: m.ID, Limit: 5}
	first, _ := mustList(t, s.Payments, f)
	f.StartingAfter = first[4].ID
	second, _ := mustList(t, s.Payments, f)
	f.StartingAfter = second[4].ID
	third, more := mustList(t, s.Payments, f)
	if got := ids(third); !slices.Equal(got, all[10:]) || more {
		t.Fatalf("third page: got %v (more %t), want %v", got, more, all[10:])
	}
	back := paygate.PaymentFilter{MerchantID: m.ID, Limit: 5, EndingBefore: third[0].ID}
	list, more := mustList(t, s.Payments, back)
	if got := ids(list); !slices.Equal(got, all[5:10]) || !more {
		t.Errorf("page before the third: got %v (more %t), want %v (more true)", got, more, all[5:10])
	}
	back.EndingBefore = list[0].ID
	list, more = mustList(t, s.Payments, back)
	if got := ids(list); !slices.Equal(got, all[:5]) || more {
		t.Errorf("first page walking back: got %v (more %t), want %v (more false)", got, more, all[:5])
	}
}

func testPaymentStats(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	// Three days of a zone east of UTC: a payment late on a UTC day
	// belongs to the next local day.
	loc := time.FixedZone("UTC+10", 10*3600)
	day0 := time.Date(2026, 3, 1, 0, 0, 0, 0, loc)
	q := paygate.StatsQuery{MerchantID: m.ID, Days: []time.Time{day0, day0.AddDate(0, 0, 1), day0.AddDate(0, 0, 2)},
		End: day0.AddDate(0, 0, 3), TopDeclines: 2}
	mk := func(merchantID string, at time.Time, amount int64, currency string, status paygate.PaymentStatus, decline string) {
		p := NewPayment(t, merchantID, at)
		p.Amount, p.Currency, p.Status = amount, MustCurrency(t, currency), status
		if status == paygate.StatusDeclined || status == paygate.StatusFailed {
			d := paygate.LookupDecline(decline)
			p.AuthCode, p.ResponseCode, p.DeclineCode, p.DeclineReason = "", decline, d.Code, d.Reason
		}
		MustCreatePayment(t, s.Payments, p)
	}
	mk(m.ID, day0.Add(-time.Microsecond), 1, "USD", paygate.StatusCaptured, "")  // the day before
	mk(m.ID, day0, 1000, "USD", paygate.StatusCaptured, "")                      // day 0, first instant
	mk(m.ID, day0.Add(23*time.Hour), 500, "USD", paygate.StatusVoided, "")       // day 0: approved, then voided
	mk(m.ID, day0.Add(25*time.Hour), 700, "EUR", paygate.StatusAuthorized, "")   // day 1
	mk(m.ID, day0.Add(26*time.Hour), 300, "USD", paygate.StatusDeclined, "51")   // day 1
	mk(m.ID, day0.Add(49*time.Hour), 300, "USD", paygate.StatusDeclined, "51")   // day 2
	mk(m.ID, day0.Add(50*time.Hour), 300, "USD", paygate.StatusDeclined, "05")   // day 2
	mk(m.ID, day0.Add(51*time.Hour), 300, "USD", paygate.StatusFailed, "91")     // day 2
	mk(m.ID, day0.Add(72*time.Hour), 9, "USD", paygate.StatusCaptured, "")       // the day after
	mk(other.ID, day0.Add(time.Hour), 5000, "USD", paygate.StatusCaptured, "")   // another merchant
	mk(other.ID, day0.Add(time.Hour), 5000, "USD", paygate.StatusDeclined, "51") // another merchant

	st, err := s.Payments.PaymentStats(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	want := []paygate.DayTotal{
		{Day: 0, Currency: "USD", Approved: 2, Volume: 1500},
		{Day: 1, Currency: "EUR", Approved: 1, Volume: 700},
		{Day: 1, Currency: "USD", Declined: 1},
		{Day: 2, Currency: "USD", Declined: 3},
	}
	if !slices.Equal(st.Totals, want) {
		t.Errorf("totals:\n got %+v\nwant %+v", st.Totals, want)
	}
	d51, d05 := paygate.LookupDecline("51"), paygate.LookupDecline("05")
	wantDeclines := []paygate.DeclineCount{{Code: d51.Code, Reason: d51.Reason, Count: 2}, {Code: d05.Code, Reason: d05.Reason, Count: 1}}
	if d05.Code > paygate.LookupDecline("91").Code { // ties are ordered by code
		wantDeclines[1] = paygate.DeclineCount{Code: paygate.LookupDecline("91").Code, Reason: paygate.LookupDecline("91").Reason, Count: 1}
	}
	if !slices.Equal(st.Declines, wantDeclines) {
		t.Errorf("declines:\n got %+v\nwant %+v", st.Declines, wantDeclines)
	}
	empty, err := s.Payments.PaymentStats(t.Context(), paygate.StatsQuery{MerchantID: m.ID})
	if err != nil || len(empty.Totals) != 0 {
		t.Errorf("no days: got %+v, %v", empty, err)
	}
}
