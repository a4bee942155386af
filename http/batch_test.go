package http_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
)

func TestSettlementSettings(t *testing.T) { gatewaytest.Engines(t, testSettlementSettings) }

func testSettlementSettings(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, Quiet: true})
	st, body := do(t, g, "GET", "/v1/settings", g.SecretKey, "")
	if st != 200 || body["time_zone"] != "UTC" || body["cutoff"] != "23:59" ||
		fmt.Sprint(body["pricing"]) != "map[fixed:30 kind:blended percent:290]" {
		t.Fatalf("GET /v1/settings defaults: got %d %v", st, body)
	}
	bad := []struct{ body, param string }{
		{`{"time_zone":"Mars/Olympus"}`, "time_zone"},
		{`{"time_zone":"Local"}`, "time_zone"},
		{`{"time_zone":"../../etc/passwd"}`, "time_zone"},
		{`{"cutoff":"24:00"}`, "cutoff"},
		{`{"cutoff":"9:30"}`, "cutoff"},
		{`{"cutoff":"17:60"}`, "cutoff"},
		{`{"cutoff":"5pm"}`, "cutoff"},
		{`{"pricing":{"kind":"flat","percent":100,"fixed":0}}`, "pricing"},
		{`{"pricing":{"kind":"blended","percent":-1,"fixed":0}}`, "pricing"},
		{`{"pricing":{"kind":"blended","percent":10001,"fixed":0}}`, "pricing"},
		{`{"pricing":{"kind":"blended","percent":100,"fixed":-5}}`, "pricing"},
		{`{"pricing":{"kind":"blended","percent":100}}`, "pricing"},
		// Nothing of an invalid update is applied.
		{`{"cutoff":"18:00","time_zone":"Nowhere/Land"}`, "time_zone"},
	}
	for _, tt := range bad {
		st, body := do(t, g, "POST", "/v1/settings", g.SecretKey, tt.body)
		if st != 422 || errField(body, "param") != tt.param {
			t.Errorf("POST /v1/settings %s: got %d param %q, want 422 %q", tt.body, st, errField(body, "param"), tt.param)
		}
	}
	st, body = do(t, g, "POST", "/v1/settings", g.SecretKey,
		`{"time_zone":"America/New_York","cutoff":"17:30","pricing":{"kind":"interchange_plus","percent":20,"fixed":5}}`)
	if st != 200 || body["time_zone"] != "America/New_York" || body["cutoff"] != "17:30" ||
		fmt.Sprint(body["pricing"]) != "map[fixed:5 kind:interchange_plus percent:20]" {
		t.Fatalf("POST /v1/settings: got %d %v", st, body)
	}
	m, err := g.Merchants.Merchant(t.Context(), g.Merchant.ID)
	if err != nil || m.TimeZone != "America/New_York" || m.Cutoff != "17:30" || m.Pricing == nil || m.Pricing.Code() != "interchange_plus:20:5" {
		t.Fatalf("stored merchant: got %v %+v", err, m)
	}
	// The SDK reads and writes them too; "" goes back to the defaults.
	c := g.Client()
	empty := ""
	s, err := c.UpdateSettings(t.Context(), client.SettingsUpdate{TimeZone: &empty, Cutoff: &empty,
		Pricing: &client.Pricing{Kind: "blended", Percent: 250, Fixed: 25}})
	if err != nil || s.TimeZone != "UTC" || s.Cutoff != "23:59" || s.Pricing != (client.Pricing{Kind: "blended", Percent: 250, Fixed: 25}) {
		t.Fatalf("client UpdateSettings: got %v %+v", err, s)
	}
	if _, err := c.UpdateSettings(t.Context(), client.SettingsUpdate{Cutoff: ptr("25:00")}); err == nil ||
		!strings.Contains(err.Error(), "Cut-off") {
		t.Errorf("client UpdateSettings with a bad cut-off: got %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// settleGateway is a test gateway whose acquirer settles with a fake.
func settleGateway(t *testing.T, pg string) (*gatewaytest.Gateway, *gatewaytest.Settler) {
	t.Helper()
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, Quiet: true})
	s := gatewaytest.NewSettler(g.Gateway)
	g.Gateway.Settler = s
	return g, s
}

func mustSettlePay(t *testing.T, g *gatewaytest.Gateway, amount int64, currency string, capture bool) *paygate.Payment {
	t.Helper()
	p, err := g.Gateway.CreatePayment(t.Context(), g.Merchant, paygate.PaymentRequest{Amount: amount, Currency: currency,
		Card: &paygate.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123"}, Capture: capture})
	if err != nil || p.Status == paygate.StatusDeclined {
		t.Fatalf("pay %d %s: %v %v", amount, currency, p, err)
	}
	return p
}

// mustOpenBatch opens the merchant's batch of the currency and moves the
// clock past what was approved.
func mustOpenBatch(t *testing.T, g *gatewaytest.Gateway, currency string) *paygate.Batch {
	t.Helper()
	c, _ := paygate.LookupCurrency(currency)
	b, err := g.Gateway.OpenBatch(t.Context(), g.Merchant, c)
	if err != nil {
		t.Fatal(err)
	}
	g.Clock.Advance(time.Second)
	return b
}

// download GETs a CSV and parses it back.
func download(t *testing.T, g *gatewaytest.Gateway, path string) (http.Header, [][]string) {
	t.Helper()
	req, _ := http.NewRequest("GET", g.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+g.SecretKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: got %d %s", path, resp.StatusCode, b)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("GET %s: not CSV: %v\n%s", path, err, b)
	}
	return resp.Header, rows
}

// column returns a row's value under the header's name.
func column(t *testing.T, header, row []string, name string) string {
	t.Helper()
	for i, h := range header {
		if h == name {
			return row[i]
		}
	}
	t.Fatalf("no column %q in %v", name, header)
	return ""
}

func TestBatchesAPI(t *testing.T) { gatewaytest.Engines(t, testBatchesAPI) }

func testBatchesAPI(t *testing.T, pg string) {
	g, settler := settleGateway(t, pg)
	ctx := t.Context()
	sale := mustSettlePay(t, g, 1999, "USD", true)
	auth := mustSettlePay(t, g, 5000, "USD", false)
	if _, err := g.Gateway.Capture(ctx, g.Merchant, auth.ID, 3000); err != nil {
		t.Fatal(err)
	}
	refund, err := g.Gateway.Refund(ctx, g.Merchant, sale.ID, 500, "", "")
	if err != nil {
		t.Fatal(err)
	}
	yen := mustSettlePay(t, g, 1999, "JPY", true)
	usd := mustOpenBatch(t, g, "USD")
	jpy := mustOpenBatch(t, g, "JPY")
	// The open batch shows what it holds so far.
	st, body := do(t, g, "GET", "/v1/batches/"+usd.ID, g.SecretKey, "")
	if st != 200 || body["status"] != "open" || body["debits_count"] != float64(2) || body["debits_amount"] != float64(4999) ||
		body["credits_amount"] != float64(500) || body["net"] != float64(4499) {
		t.Errorf("GET open batch: got %d %v, want 2 debits of 4999 and a credit of 500 so far", st, body)
	}
	st, body = do(t, g, "GET", "/v1/batches?status=open&currency=JPY", g.SecretKey, "")
	if list, _ := body["data"].([]any); st != 200 || len(list) != 1 || list[0].(map[string]any)["debits_amount"] != float64(1999) {
		t.Errorf("GET open batches: got %d %v", st, body)
	}

	// Close through the API: settled, with its deposit.
	st, body = do(t, g, "POST", "/v1/batches/"+usd.ID+"/close", g.SecretKey, "")
	dep, _ := body["deposit"].(map[string]any)
	if st != 200 || body["status"] != "settled" || body["debits_amount"] != float64(4999) || body["credits_amount"] != float64(500) ||
		body["net"] != float64(4499) || dep == nil {
		t.Fatalf("POST close: got %d %v", st, body)
	}
	fees := paygate.DefaultPricing.Fee(&paygate.BatchItem{Kind: "debit", Amount: 1999}) + paygate.DefaultPricing.Fee(&paygate.BatchItem{Kind: "debit", Amount: 3000})
	if dep["fees"] != float64(fees) || dep["net"] != float64(4499-fees) || dep["net"] != float64(settler.Funded()) {
		t.Errorf("deposit: got %v, want fees %d net %d (funded %d)", dep, fees, 4499-fees, settler.Funded())
	}
	depositID, _ := dep["id"].(string)
	if st, body := do(t, g, "POST", "/v1/batches/"+jpy.ID+"/close", g.SecretKey, ""); st != 200 || body["status"] != "settled" {
		t.Fatalf("POST close JPY: got %d %v", st, body)
	}
	if st, body := do(t, g, "POST", "/v1/batches/bat_nope/close", g.SecretKey, ""); st != 404 {
		t.Errorf("close of an unknown batch: got %d %v", st, body)
	}

	// One batch with its items: of the card, brand and last 4 only.
	st, body = do(t, g, "GET", "/v1/batches/"+usd.ID+"?items_limit=2", g.SecretKey, "")
	items, _ := body["items"].(map[string]any)
	data, _ := items["data"].([]any)
	if st != 200 || len(data) != 2 || items["has_more"] != true {
		t.Fatalf("GET batch: got %d %v, want 2 items and more", st, body)
	}
	first, _ := data[0].(map[string]any)
	for _, k := range []string{"kind", "payment_id", "rrn", "amount", "card_brand", "card_last4", "approved_at"} {
		if first[k] == nil || first[k] == "" {
			t.Errorf("item: no %s in %v", k, first)
		}
	}
	if s := fmt.Sprint(body); strings.Contains(s, "424242424242") || strings.Contains(s, "first6") || strings.Contains(s, "stan") {
		t.Errorf("GET batch shows card data or more: %s", s)
	}
	rrn, _ := first["rrn"].(string)
	st, body = do(t, g, "GET", "/v1/batches/"+usd.ID+"?items_starting_after="+rrn, g.SecretKey, "")
	items, _ = body["items"].(map[string]any)
	if data, _ := items["data"].([]any); st != 200 || len(data) != 2 || items["has_more"] != false {
		t.Errorf("GET batch items after %s: got %d %v", rrn, st, items)
	}

	// Lists: newest first, filtered.
	st, body = do(t, g, "GET", "/v1/batches?currency=USD", g.SecretKey, "")
	list, _ := body["data"].([]any)
	if st != 200 || len(list) != 2 || list[0].(map[string]any)["status"] != "open" || list[1].(map[string]any)["id"] != usd.ID {
		t.Fatalf("GET /v1/batches?currency=USD: got %d %v, want the next open one then the settled one", st, body)
	}
	st, body = do(t, g, "GET", "/v1/batches?status=settled&limit=1", g.SecretKey, "")
	list, _ = body["data"].([]any)
	if st != 200 || len(list) != 1 || body["has_more"] != true {
		t.Fatalf("GET /v1/batches?status=settled&limit=1: got %d %v", st, body)
	}
	after := list[0].(map[string]any)["id"].(string)
	st, body = do(t, g, "GET", "/v1/batches?status=settled&starting_after="+after, g.SecretKey, "")
	if list, _ = body["data"].([]any); st != 200 || len(list) != 1 || list[0].(map[string]any)["id"] == after {
		t.Errorf("GET /v1/batches page 2: got %d %v", st, body)
	}
	for _, q := range []string{"status=done", "currency=XXX", "limit=0", "limit=101", "status="} {
		if st, body := do(t, g, "GET", "/v1/batches?"+q, g.SecretKey, ""); st != 400 {
			t.Errorf("GET /v1/batches?%s: got %d %v, want 400", q, st, body)
		}
	}
	st, body = do(t, g, "GET", "/v1/deposits?currency=USD", g.SecretKey, "")
	if list, _ = body["data"].([]any); st != 200 || len(list) != 1 || list[0].(map[string]any)["id"] != depositID {
		t.Errorf("GET /v1/deposits: got %d %v", st, body)
	}
	if st, body := do(t, g, "GET", "/v1/deposits/"+depositID, g.SecretKey, ""); st != 200 || body["batch_id"] != usd.ID ||
		body["status"] != "pending" || body["funding_date"] == "" ||
		!strings.HasPrefix(fmt.Sprint(body["funding_at"]), fmt.Sprint(body["funding_date"])+"T00:00:00") {
		t.Errorf("GET /v1/deposits/{id}: got %d %v", st, body)
	}
	// Another merchant sees none of it.
	other := gatewaytest.MustCreateMerchant(t, g, "Other")
	if st, _ := do(t, g, "GET", "/v1/deposits/"+depositID, other, ""); st != 404 {
		t.Errorf("another merchant's deposit: got %d, want 404", st)
	}
	if st, _ := do(t, g, "GET", "/v1/batches/"+usd.ID+"/export.csv", other, ""); st != 404 {
		t.Errorf("another merchant's export: got %d, want 404", st)
	}

	// The export: a header, one row per item, major units, ISO times.
	h, rows := download(t, g, "/v1/batches/"+usd.ID+"/export.csv")
	if h.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), `attachment; filename="batch-1-USD-`) {
		t.Errorf("export headers: got %q %q", h.Get("Content-Type"), h.Get("Content-Disposition"))
	}
	if len(rows) != 4 || rows[0][0] != "batch_id" {
		t.Fatalf("export: got %d rows %v, want a header and 3 items", len(rows), rows)
	}
	amounts := map[string]string{}
	for _, row := range rows[1:] {
		amounts[column(t, rows[0], row, "payment_id")+"/"+column(t, rows[0], row, "kind")] = column(t, rows[0], row, "amount")
		if _, err := time.Parse(time.RFC3339, column(t, rows[0], row, "approved_at")); err != nil {
			t.Errorf("approved_at: %v", err)
		}
		if column(t, rows[0], row, "card_last4") != "4242" {
			t.Errorf("row %v: want last 4 4242", row)
		}
		if strings.Contains(strings.Join(row, ","), "424242424242") {
			t.Errorf("row %v shows the card number", row)
		}
	}
	want := map[string]string{sale.ID + "/debit": "19.99", auth.ID + "/debit": "30.00", sale.ID + "/credit": "5.00"}
	if fmt.Sprint(amounts) != fmt.Sprint(want) {
		t.Errorf("export amounts: got %v, want %v", amounts, want)
	}
	if _, rows := download(t, g, "/v1/batches/"+jpy.ID+"/export.csv"); len(rows) != 2 || column(t, rows[0], rows[1], "amount") != "1999" ||
		column(t, rows[0], rows[1], "payment_id") != yen.ID {
		t.Errorf("JPY export: got %v, want 1999 without decimals", rows)
	}

	// The statement: each item with its fee, then the totals line.
	h, rows = download(t, g, "/v1/deposits/"+depositID+"/statement.csv")
	if !strings.Contains(h.Get("Content-Disposition"), depositID+".csv") {
		t.Errorf("statement file name: %q", h.Get("Content-Disposition"))
	}
	if len(rows) != 5 {
		t.Fatalf("statement: got %d rows, want a header, 3 items and the totals", len(rows))
	}
	total := rows[len(rows)-1]
	if column(t, rows[0], total, "kind") != "total" || column(t, rows[0], total, "amount") != "44.99" ||
		column(t, rows[0], total, "fee") != paygate.FormatAmount(fees, paygate.Currency{Exponent: 2}) ||
		column(t, rows[0], total, "net") != paygate.FormatAmount(4499-fees, paygate.Currency{Exponent: 2}) {
		t.Errorf("statement totals: got %v", total)
	}
	if _, err := time.Parse(time.DateOnly, column(t, rows[0], total, "funding_date")); err != nil {
		t.Errorf("funding_date: %v", err)
	}
	for _, row := range rows[1 : len(rows)-1] {
		if column(t, rows[0], row, "refund_id") == refund.ID && (column(t, rows[0], row, "amount") != "-5.00" || column(t, rows[0], row, "fee") != "0.00") {
			t.Errorf("refund row: got %v, want -5.00 and no fee", row)
		}
	}

	// The SDK.
	c := g.Client()
	bl, err := c.ListBatches(ctx, client.BatchListParams{Status: client.BatchSettled})
	if err != nil || len(bl.Data) != 2 {
		t.Fatalf("client ListBatches: got %v %v", bl, err)
	}
	b, err := c.GetBatch(ctx, usd.ID, 0, "")
	if err != nil || b.Net != 4499 || b.Items == nil || len(b.Items.Data) != 3 || b.Items.Data[0].CardLast4 != "4242" {
		t.Fatalf("client GetBatch: got %+v %v", b, err)
	}
	dl, err := c.ListDeposits(ctx, client.BatchListParams{})
	if err != nil || len(dl.Data) != 2 {
		t.Fatalf("client ListDeposits: got %v %v", dl, err)
	}
	d, err := c.GetDeposit(ctx, depositID)
	if err != nil || d.Net != 4499-fees {
		t.Fatalf("client GetDeposit: got %+v %v", d, err)
	}
	var buf bytes.Buffer
	if err := c.DepositStatement(ctx, depositID, &buf); err != nil || !strings.HasPrefix(buf.String(), "deposit_id,") {
		t.Errorf("client DepositStatement: got %v %q", err, buf.String())
	}
	buf.Reset()
	if err := c.ExportBatch(ctx, usd.ID, &buf); err != nil || strings.Count(buf.String(), "\n") != 4 {
		t.Errorf("client ExportBatch: got %v %q", err, buf.String())
	}
	if err := c.ExportBatch(ctx, "bat_nope", &buf); err == nil || !strings.Contains(err.Error(), "bat_nope") {
		t.Errorf("client ExportBatch of an unknown batch: got %v", err)
	}
}

func TestBatchOutOfBalanceAPI(t *testing.T) { gatewaytest.Engines(t, testBatchOutOfBalanceAPI) }

func testBatchOutOfBalanceAPI(t *testing.T, pg string) {
	g, settler := settleGateway(t, pg)
	p := mustSettlePay(t, g, 3000, "USD", true)
	settler.Change(p.RRN, 2999)
	b := mustOpenBatch(t, g, "USD")
	c := g.Client()
	got, err := c.CloseBatch(t.Context(), b.ID)
	if err != nil || got.Status != client.BatchOutOfBalance || got.Deposit != nil || len(got.Differences) != 1 ||
		got.Differences[0].RRN != p.RRN || got.Differences[0].AcquirerAmount != 2999 {
		t.Fatalf("close: got %+v %v, want out of balance with the difference", got, err)
	}
	if st, body := do(t, g, "POST", "/v1/batches/"+b.ID+"/accept", g.SecretKey, `{}`); st != 422 || errField(body, "param") != "reason" {
		t.Errorf("accept without a reason: got %d %v", st, body)
	}
	if st, body := do(t, g, "POST", "/v1/batches/"+b.ID+"/accept", g.SecretKey, `{"reason":"  "}`); st != 422 || errField(body, "param") != "reason" {
		t.Errorf("accept with a blank reason: got %d %v", st, body)
	}
	settler.Fix()
	got, err = c.ResendBatch(t.Context(), b.ID)
	if err != nil || got.Status != client.BatchSettled || got.Deposit == nil || got.Deposit.Gross != 3000 {
		t.Fatalf("resend after the acquirer's fix: got %+v %v", got, err)
	}
	if _, err := c.ResendBatch(t.Context(), b.ID); err == nil {
		t.Errorf("resend of a settled batch: no error")
	}

	p = mustSettlePay(t, g, 4000, "USD", true)
	settler.Change(p.RRN, 1)
	b2, err := c.ListBatches(t.Context(), client.BatchListParams{Status: client.BatchOpen})
	if err != nil || len(b2.Data) != 1 {
		t.Fatalf("open batches: %v %v", b2, err)
	}
	g.Clock.Advance(time.Second)
	if got, err = c.CloseBatch(t.Context(), b2.Data[0].ID); err != nil || got.Status != client.BatchOutOfBalance {
		t.Fatalf("close: %+v %v", got, err)
	}
	got, err = c.AcceptBatch(t.Context(), got.ID, "Acquirer confirmed by phone, ticket 42")
	if err != nil || got.Status != client.BatchSettled || got.Resolution != "Acquirer confirmed by phone, ticket 42" || got.Deposit == nil {
		t.Fatalf("accept: got %+v %v", got, err)
	}
}

// TestSettleWithTheBank closes a batch against the real (in-process)
// acquirer under interchange-plus pricing, with a credit, a debit and a
// prepaid card: the acquirer clears and funds exactly the deposit the
// gateway records, fees by brand and card type, and the issuer posts each
// card's captured amount.
func TestSettleWithTheBank(t *testing.T) { gatewaytest.Engines(t, testSettleWithTheBank) }

func testSettleWithTheBank(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	if st, body := do(t, g, "POST", "/v1/settings", g.SecretKey,
		`{"pricing":{"kind":"interchange_plus","percent":30,"fixed":5}}`); st != 200 {
		t.Fatalf("settings: %d %v", st, body)
	}
	cards := map[string]int64{"4242424242424242": 10000, "4000056655665556": 2500, "5105105105105100": 4000}
	var want int64
	for pan, amount := range cards {
		if _, err := g.Gateway.CreatePayment(ctx, g.Merchant, paygate.PaymentRequest{Amount: amount, Currency: "USD",
			Card: &paygate.Card{Number: pan, ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123"}, Capture: true}); err != nil {
			t.Fatalf("pay with %s…: %v", pan[:6], err)
		}
		brand, typ := paygate.CardBrand(pan), paygate.CardType(pan[:6])
		want += paygate.Interchange(brand, typ, amount) + (amount*30+5000)/10000 + 5
	}
	if paygate.CardType("400005") != paygate.CardDebit || paygate.CardType("510510") != paygate.CardPrepaid {
		t.Fatal("the test cards' types changed")
	}
	b := mustOpenBatch(t, g, "USD")
	st, body := do(t, g, "POST", "/v1/batches/"+b.ID+"/close", g.SecretKey, "")
	dep, _ := body["deposit"].(map[string]any)
	if st != 200 || body["status"] != "settled" || dep == nil {
		t.Fatalf("close: %d %v", st, body)
	}
	if dep["fees"] != float64(want) || dep["net"] != float64(16500-want) {
		t.Errorf("deposit: %v, want fees %d (by brand and card type) and net %d", dep, want, 16500-want)
	}
	if funded := g.Bank.Funded(g.Merchant.AcquirerID); funded != 16500-want {
		t.Errorf("the acquirer funded %d, want %d", funded, 16500-want)
	}
	for pan, amount := range cards {
		if a, _ := g.Bank.Account(pan); a.Limit-a.Posted != amount || a.Held != 0 {
			t.Errorf("card %s…: posted %d, held %d; want %d posted, nothing held", pan[:6], a.Limit-a.Posted, a.Held, amount)
		}
	}
}

// TestCutoffChangeMovesOpenBatches: a new cut-off or time zone applies to
// the batches already open.
func TestCutoffChangeMovesOpenBatches(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	mustSettlePay(t, g, 1000, "USD", true)
	b := mustOpenBatch(t, g, "USD")
	if st, body := do(t, g, "POST", "/v1/settings", g.SecretKey, `{"time_zone":"Asia/Tokyo","cutoff":"03:15"}`); st != 200 {
		t.Fatalf("settings: %d %v", st, body)
	}
	m, err := g.Merchants.Merchant(ctx, g.Merchant.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Gateway.Batch(ctx, m, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	if c := got.CutoffAt.In(tokyo); c.Hour() != 3 || c.Minute() != 15 || !c.After(g.Clock.Now()) || c.Sub(g.Clock.Now()) > 24*time.Hour {
		t.Errorf("open batch's cut-off after the change: %s (Tokyo), want the next 03:15 there", c)
	}
}
