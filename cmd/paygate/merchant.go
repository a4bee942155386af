package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/paygate/paygate"
)

func runMerchant(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: paygate merchant create|list [flags]")
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, "usage: paygate merchant create|list [flags]\n\n  create  create a merchant and its secret key\n  list    list the merchants\n\nRun 'paygate merchant <subcommand> -h' for its flags.")
		return nil
	case "create":
		return merchantCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return merchantList(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "paygate merchant: unknown subcommand %q (want create or list)\n", args[0])
	return errUsage
}

type merchantJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email,omitempty"`
	RequireAck bool   `json:"require_ack"`
	AckWindow  string `json:"ack_window,omitempty"`
	AcquirerID string `json:"acquirer_merchant_id"`
	TerminalID string `json:"terminal_id"`
	CreatedAt  string `json:"created_at"`
	SecretKey  string `json:"secret_key,omitempty"`
}

func newMerchantJSON(m *paygate.Merchant) merchantJSON {
	j := merchantJSON{ID: m.ID, Name: m.Name, Email: m.Email, RequireAck: m.RequireAck, AcquirerID: m.AcquirerID,
		TerminalID: m.TerminalID, CreatedAt: m.CreatedAt.Format(time.RFC3339)}
	if m.RequireAck {
		j.AckWindow = m.EffectiveAckWindow().String()
	}
	return j
}

func merchantCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merchant create", stderr)
	db := dbFlag(fs)
	name := fs.String("name", "", "merchant name (required)")
	email := fs.String("email", "", "merchant e-mail address")
	requireAck := fs.Bool("require-ack", false, "approvals must be acknowledged or they are voided")
	ackWindow := fs.Duration("ack-window", paygate.DefaultAckWindow, "how long an approval waits for acknowledgment")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ackWindow <= 0 {
		return fmt.Errorf("--ack-window must be positive")
	}
	m, err := paygate.NewMerchant(*name, *email, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("%s", paygate.ErrorMessage(err))
	}
	m.RequireAck, m.AckWindow = *requireAck, *ackWindow
	st, err := openExisting(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	secret, err := newMerchantWithKey(ctx, st, m)
	if err != nil {
		return err
	}
	if *asJSON {
		j := newMerchantJSON(m)
		j.SecretKey = secret
		return json.NewEncoder(stdout).Encode(j)
	}
	fmt.Fprintf(stdout, "Created merchant %s (%s).\n  secret key:      %s\nThe key is shown only this once; store it now.\n", m.ID, m.Name, secret)
	return nil
}

func merchantList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merchant list", stderr)
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := openExisting(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.merchants.Merchants(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]merchantJSON, 0, len(list))
		for _, m := range list {
			out = append(out, newMerchantJSON(m))
		}
		return json.NewEncoder(stdout).Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tREQUIRE ACK\tCREATED")
	for _, m := range list {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", m.ID, m.Name, m.RequireAck, m.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}
