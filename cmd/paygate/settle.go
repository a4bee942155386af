package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/paygate/paygate"
)

// runSettle closes a merchant's batch: captured payments become settled and
// can no longer be voided. Clearing, reconciliation and deposits are built
// on it by the settlement work.
func runSettle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("settle", stderr)
	db := dbFlag(fs)
	merchant := fs.String("merchant", "", "merchant id (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, m, err := openMerchant(ctx, *db, *merchant)
	if err != nil {
		return err
	}
	defer st.Close()
	g := paygate.NewGateway()
	g.Merchants, g.Payments = st.Merchants, st.Payments
	n, err := g.CloseBatch(ctx, m)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"merchant_id": m.ID, "settled": n})
	}
	fmt.Fprintf(stdout, "Closed the batch of %s: %d payments settled.\n", m.ID, n)
	return nil
}
