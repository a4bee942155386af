package http_test

import (
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/sqlite"
)

// TestCardVerification: a card is stored only once its issuer has verified
// it with an account verification (an authorization of zero carrying the
// CVC); a card the issuer declines, or whose verification gets no answer,
// is refused with its decline and nothing is stored; no hold is ever placed.
func TestCardVerification(t *testing.T) { gatewaytest.Engines(t, testCardVerification) }

func testCardVerification(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, NetworkTimeout: 200 * time.Millisecond})
	c := g.Client(client.WithMaxRetries(0))
	year := time.Now().Year() + 2
	refused := []struct {
		name, pan, rc, decline string
	}{
		{"incorrect CVC", "4000000000000127", "N7", "incorrect_cvc"},
		{"lost", "4000000000009987", "41", "lost_card"},
		{"stolen", "4000000000009979", "43", "stolen_card"},
		{"expired at the issuer", "4000000000000069", "54", "expired_card"},
		{"no such account", "4000000000000010", "14", "invalid_number"},
		{"issuer never answers", "4000110000000009", "91", "issuer_unavailable"},
	}
	for _, tt := range refused {
		body := fmt.Sprintf(`{"number":%q,"exp_month":7,"exp_year":%d,"cvc":"123"}`, tt.pan, year)
		s, b := do(t, g, "POST", "/v1/cards", g.SecretKey, body, "Idempotency-Key", "card-"+strings.ReplaceAll(tt.name, " ", "-"))
		if s != 402 || errField(b, "type") != "card_error" || errField(b, "code") != paygate.EDECLINED ||
			errField(b, "response_code") != tt.rc || errField(b, "decline_code") != tt.decline {
			t.Errorf("%s: got %d %v, want 402 card_error %s with %s %s", tt.name, s, b, paygate.EDECLINED, tt.rc, tt.decline)
		}
		if n := countRows(t, g, "cards"); n != 0 {
			t.Fatalf("%s: %d cards stored, want none", tt.name, n)
		}
	}
	// A refusal is not stored under its key: the key may be used again.
	good := fmt.Sprintf(`{"number":"4242424242424242","exp_month":7,"exp_year":%d,"cvc":"123"}`, year)
	if s, b := do(t, g, "POST", "/v1/cards", g.SecretKey, good, "Idempotency-Key", "card-incorrect-CVC"); s != 200 {
		t.Errorf("a good card under the key of a refused one: got %d %v, want 200", s, b)
	}

	// The incorrect-CVC card without a CVC: the issuer has nothing to
	// refuse, as for a payment.
	if _, err := c.CreateCard(ctx, client.CardParams{Number: "4000000000000127", ExpMonth: 7, ExpYear: year}); err != nil {
		t.Errorf("incorrect-CVC card without a CVC: %v, want it stored", err)
	}
	const pan = "5555555555554444"
	before, _ := g.Bank.Account(pan)
	sc, err := c.CreateCard(ctx, client.CardParams{Number: pan, ExpMonth: 7, ExpYear: year, CVC: "321"})
	if err != nil {
		t.Fatalf("good card: %v", err)
	}
	if got, err := c.GetCard(ctx, sc.ID); err != nil || got.Last4 != "4444" {
		t.Errorf("stored card: %+v %v", got, err)
	}
	if n := countRows(t, g, "cards"); n != 3 {
		t.Errorf("%d cards stored, want 3", n)
	}
	after, _ := g.Bank.Account(pan)
	if after.Held != 0 || after.Available != before.Available || after.Posted != before.Posted {
		t.Errorf("bank account after verification: held %d available %d posted %d; want it untouched (%d %d)",
			after.Held, after.Available, after.Posted, before.Available, before.Posted)
	}
	s := g.Bank.Stats()
	if want := int64(len(refused) + 3); s.Verifications != want || s.HoldsPlaced != 0 || s.Reversals != 0 || s.Authorizations != 0 {
		t.Errorf("bank saw %d verifications, %d authorizations, %d holds, %d reversals; want %d, 0, 0, 0",
			s.Verifications, s.Authorizations, s.HoldsPlaced, s.Reversals, want)
	}
	// And the stored card pays.
	if p := mustPay(t, c, client.PaymentParams{Amount: 700, Currency: "USD", CardID: sc.ID}); p.Status != client.StatusCaptured {
		t.Errorf("payment with the stored card: %s, want captured", p.Status)
	}
}

// countRows counts the rows of a table of the gateway's database.
func countRows(t *testing.T, g *gatewaytest.Gateway, table string) int {
	t.Helper()
	driver, dsn := "sqlite", sqlite.URI(g.DBPath, url.Values{"mode": {"ro"}})
	if g.Postgres != "" {
		driver, dsn = "pgx", g.Postgres
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
