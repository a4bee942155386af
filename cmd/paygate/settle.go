package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/iso8583"
	"github.com/paygate/paygate/node"
)

// newSettler reaches the acquirer's settlement side (0500/0320) as the
// flags say. It is set by the acquirer's settlement link; until then,
// settle cannot reach an acquirer.
var newSettler = func(ctx context.Context, c node.AcquirerConfig) (paygate.Settler, func(), error) {
	if c.Addr == "" {
		return nil, nil, errors.New("the in-process bank lives inside paygate serve: there batches close by themselves at the " +
			"merchant's cut-off, or on demand with POST /v1/batches/{id}/close; to settle from here, run the bank apart " +
			"(paygate bank) and give --acquirer")
	}
	link, err := node.DialAcquirer(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return iso8583.NewClient(link, 30*time.Second), func() { link.Close() }, nil
}

// runSettle closes the open batches of a merchant (or of every merchant)
// through the domain: claims their transactions, reconciles them with the
// acquirer (uploading them if out of balance) and records the deposits,
// showing progress on a large batch, then prints each batch's totals and
// deposit.
func runSettle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("settle", stderr)
	db := dbFlag(fs)
	merchant := fs.String("merchant", "", "merchant id (default: every merchant)")
	every := fs.Int64("progress", 10000, "print a progress line every this many items (0: none)")
	asJSON := fs.Bool("json", false, "print JSON")
	var acq node.AcquirerConfig
	acquirerFlags(fs, &acq)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := openExisting(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	var merchants []*paygate.Merchant
	if *merchant != "" {
		m, err := st.Merchants.Merchant(ctx, *merchant)
		if err != nil {
			return fmt.Errorf("%s", paygate.ErrorMessage(err))
		}
		merchants = []*paygate.Merchant{m}
	} else if merchants, err = st.Merchants.Merchants(ctx); err != nil {
		return err
	}
	g := paygate.NewGateway()
	g.Merchants, g.Payments, g.Batches, g.Events, g.Sequences = st.Merchants, st.Payments, st.Batches, st.Events, st.Sequences
	connect := func() (func(), error) { // the acquirer is reached only when there is a batch to close
		settler, closeSettler, err := newSettler(ctx, acq)
		if err != nil {
			return nil, err
		}
		g.Settler = settler
		return closeSettler, nil
	}
	return settleMerchants(ctx, g, merchants, connect, *every, *asJSON, stdout)
}

// settleMerchants closes the open batches of the merchants (one per
// currency they have taken payments in).
func settleMerchants(ctx context.Context, g *paygate.Gateway, merchants []*paygate.Merchant, connect func() (func(), error),
	every int64, asJSON bool, stdout io.Writer) error {
	tty := isTTY(stdout)
	results := []map[string]any{}
	for _, m := range merchants {
		if err := g.OpenBatches(ctx, m.ID); err != nil {
			return err
		}
		open, _, err := g.Batches.Batches(ctx, paygate.BatchFilter{MerchantID: m.ID, Status: paygate.BatchOpen, Limit: 100})
		if err != nil {
			return err
		}
		for _, b := range open {
			if g.Settler == nil {
				done, err := connect()
				if err != nil {
					return err
				}
				defer done()
			}
			var last int64
			progress := func(b *paygate.Batch, what string, done, total int64) {
				if asJSON || every <= 0 {
					return
				}
				switch {
				case tty && total > 0:
					fmt.Fprintf(stdout, "\r%s %s: %s %d/%d (%d%%)", m.ID, b.ID, what, done, total, done*100/total)
					if done == total {
						fmt.Fprintln(stdout)
					}
				case done == total || done-last >= every:
					fmt.Fprintf(stdout, "%s %s: %s %d/%d\n", m.ID, b.ID, what, done, total)
					last = done
				}
			}
			b, d, err := g.CloseBatchProgress(ctx, m, b.ID, progress)
			if err != nil {
				return err
			}
			results = append(results, settleResult(b, d))
			if !asJSON {
				printSettled(stdout, b, d)
			}
		}
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(results)
	}
	if len(results) == 0 {
		fmt.Fprintln(stdout, "No open batches.")
	}
	return nil
}

func settleResult(b *paygate.Batch, d *paygate.Deposit) map[string]any {
	r := map[string]any{"merchant_id": b.MerchantID, "batch_id": b.ID, "number": b.Number, "currency": b.Currency.Code,
		"status": b.Status, "debits_count": b.Totals.DebitsCount, "debits_amount": b.Totals.DebitsAmount,
		"credits_count": b.Totals.CreditsCount, "credits_amount": b.Totals.CreditsAmount, "net": b.Totals.Net()}
	if d != nil {
		r["deposit"] = map[string]any{"id": d.ID, "gross": d.Gross, "refunds": d.Refunds, "fees": d.Fees, "net": d.Net,
			"funding_date": d.FundingDate}
	}
	return r
}

func printSettled(w io.Writer, b *paygate.Batch, d *paygate.Deposit) {
	c := b.Currency
	fmt.Fprintf(w, "Batch %d (%s) of %s, %s: %s\n", b.Number, b.ID, b.MerchantID, c.Code, b.Status)
	fmt.Fprintf(w, "  sales   %6d  %s\n", b.Totals.DebitsCount, paygate.FormatAmount(b.Totals.DebitsAmount, c))
	fmt.Fprintf(w, "  refunds %6d  %s\n", b.Totals.CreditsCount, paygate.FormatAmount(b.Totals.CreditsAmount, c))
	fmt.Fprintf(w, "  net             %s\n", paygate.FormatAmount(b.Totals.Net(), c))
	if d != nil {
		fmt.Fprintf(w, "Deposit %s: fees %s, net %s, funded on %s\n", d.ID, paygate.FormatAmount(d.Fees, c),
			paygate.FormatAmount(d.Net, c), d.FundingDate)
	}
	for _, diff := range b.Differences {
		fmt.Fprintf(w, "  differs: %s %s (ours %d, acquirer's %d)\n", diff.RRN, diff.Kind, diff.Amount, diff.AcquirerAmount)
	}
}

// isTTY reports whether w is a terminal.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
