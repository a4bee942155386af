package http_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/sqlite"
	_ "modernc.org/sqlite"
)

// TestCardDataNeverStored runs every flow with distinct card numbers and
// CVCs, then looks for them in the database file, its WAL, every cell of
// every table, everything the server logged and every response body.
func TestCardDataNeverStored(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{NetworkTimeout: 200 * time.Millisecond})
	c := g.Client(client.WithMaxRetries(0))
	cards := []struct{ pan, cvc string }{
		{"4242424242424242", "937"},
		{"5555555555554444", "618"},
		{"378282246310005", "4791"},
		{"4000000000009995", "852"},
		{"4000110000000009", "264"},
		{"4000000000000127", "719"},
		{"4242424242424241", "333"}, // fails Luhn
		{"2223003122003222", "546"},
	}
	var bodies bytes.Buffer
	raw := func(method, path, body string, header ...string) {
		req, _ := http.NewRequest(method, g.URL()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+g.SecretKey)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		bodies.Write(b)
		for k, v := range resp.Header {
			if k == "Content-Length" {
				continue // the body's size: a number that may equal a CVC by chance (it did: 546)
			}
			fmt.Fprintf(&bodies, "%s: %s\n", k, v)
		}
	}
	year := time.Now().Year() + 2
	for i, cd := range cards {
		body := fmt.Sprintf(`{"amount":%d,"currency":"USD","capture":%v,"card":{"number":%q,"exp_month":7,"exp_year":%d,"cvc":%q,"name":"Pat Doe"}}`, 1000+i, i%2 == 0, cd.pan, year, cd.cvc)
		raw("POST", "/v1/payments", body)
		raw("POST", "/v1/payments", body, "Idempotency-Key", "leak-"+cd.pan)
		raw("POST", "/v1/payments", body, "Idempotency-Key", "leak-"+cd.pan) // again: a key holding a card number is refused; one that fails Luhn is stored only hashed, and replayed
		raw("POST", "/v1/cards", fmt.Sprintf(`{"number":%q,"exp_month":7,"exp_year":%d,"cvc":%q}`, cd.pan, year, cd.cvc))
		raw("GET", "/v1/payments/"+cd.pan, "")
		raw("POST", "/v1/payments", fmt.Sprintf(`{"amount":1,"currency":"USD","card":{"number":%q,"exp_month":7,"exp_year":%d,"cvc":%q},"%s":1}`, cd.pan, year, cd.cvc, cd.pan))
		raw("POST", "/v1/payments", fmt.Sprintf(`{"amount":1,"currency":"USD","card":{"number":%s,"exp_month":7,"exp_year":%d,"cvc":%s}}`, cd.pan, year, cd.cvc))
		raw("POST", "/v1/payments", fmt.Sprintf(`{"amount":1,"currency":"USD","card":{"number":"%s`, cd.pan))
	}
	// Follow-ups that decrypt the stored number: capture, refund, void.
	list, err := c.ListPayments(ctx, client.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Data {
		switch p.Status {
		case client.StatusAuthorized:
			c.Capture(ctx, p.ID, client.CaptureParams{Amount: new(p.Amount - 1)})
		case client.StatusCaptured:
			c.Refund(ctx, p.ID, client.RefundParams{Amount: new(int64(1))})
		}
	}
	stored, err := c.CreateCard(ctx, client.CardParams{Number: "6011111111111117", ExpMonth: 1, ExpYear: year, CVC: "402"})
	if err != nil {
		t.Fatal(err)
	}
	cards = append(cards, struct{ pan, cvc string }{"6011111111111117", "463"})
	if _, err := c.CreatePayment(ctx, client.PaymentParams{Amount: 555, Currency: "USD", CardID: stored.ID}); err != nil {
		t.Fatal(err)
	}

	check := func(where string, data []byte) {
		t.Helper()
		for _, cd := range cards {
			if bytes.Contains(data, []byte(cd.pan)) {
				t.Errorf("%s contains card number %s…", where, cd.pan[:6])
			}
		}
	}
	cvcToken := func(where string, tokens []string) {
		t.Helper()
		for _, tok := range tokens {
			for _, cd := range cards {
				if tok == cd.cvc {
					t.Errorf("%s has a value equal to a CVC", where)
				}
			}
		}
	}
	split := regexp.MustCompile(`[\s=":,{}\[\]]+`)

	check("responses", bodies.Bytes())
	cvcToken("responses", split.Split(bodies.String(), -1))
	if strings.Contains(bodies.String(), `"cvc"`) {
		t.Errorf("a response mentions a cvc field")
	}
	logs := g.Logs.Bytes()
	if len(logs) == 0 {
		t.Fatal("the server logged nothing; the log scan would prove nothing")
	}
	check("logs", logs)
	cvcToken("logs", split.Split(string(logs), -1))

	// Every cell of every table.
	db, err := sql.Open("sqlite", sqlite.URI(g.DBPath, url.Values{"mode": {"ro"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	cells := 0
	for _, name := range names {
		rows, err := db.Query(`SELECT * FROM ` + name)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				cell := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					cell = string(b)
				}
				cells++
				check(name+"."+cols[i], []byte(cell))
				cvcToken(name+"."+cols[i], []string{cell})
				cvcToken(name+"."+cols[i]+" (JSON)", split.Split(cell, -1))
			}
		}
		rows.Close()
	}
	if cells < 100 {
		t.Fatalf("scanned only %d cells", cells)
	}

	// The raw files, while open (WAL not yet checkpointed) and after close.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if b, err := os.ReadFile(g.DBPath + suffix); err == nil {
			check("database file paygate.db"+suffix, b)
		}
	}
	g.Close()
	b, err := os.ReadFile(g.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	check("database file after close", b)
	check("logs after close", g.Logs.Bytes())
}
