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

func runKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: paygate key create|list|revoke [flags]")
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, "usage: paygate key create|list|revoke [flags]\n\n  create  make a new API key for a merchant (shown once)\n  list    list a merchant's keys (never the keys themselves)\n  revoke  revoke a key by its id\n\nRun 'paygate key <subcommand> -h' for its flags.")
		return nil
	case "create":
		return keyCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return keyList(ctx, args[1:], stdout, stderr)
	case "revoke":
		return keyRevoke(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "paygate key: unknown subcommand %q (want create, list or revoke)\n", args[0])
	return errUsage
}

type keyJSON struct {
	ID         string `json:"id"`
	MerchantID string `json:"merchant_id"`
	Kind       string `json:"kind"`
	Prefix     string `json:"prefix"`
	CreatedAt  string `json:"created_at"`
	RevokedAt  string `json:"revoked_at,omitempty"`
	Key        string `json:"key,omitempty"`
}

func newKeyJSON(k *paygate.APIKey) keyJSON {
	j := keyJSON{ID: k.ID, MerchantID: k.MerchantID, Kind: k.Kind, Prefix: k.Prefix, CreatedAt: k.CreatedAt.Format(time.RFC3339)}
	if k.Revoked() {
		j.RevokedAt = k.RevokedAt.Format(time.RFC3339)
	}
	return j
}

func keyCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("key create", stderr)
	db := dbFlag(fs)
	merchant := fs.String("merchant", "", "merchant id (required)")
	kind := fs.String("kind", paygate.KeySecret, "secret (the only kind issued)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch *kind {
	case paygate.KeySecret:
	case paygate.KeyPublishable:
		return fmt.Errorf("publishable keys are no longer issued: no route takes them; use --kind secret")
	default:
		return fmt.Errorf("--kind must be secret")
	}
	st, _, err := openMerchant(ctx, *db, *merchant)
	if err != nil {
		return err
	}
	defer st.Close()
	plain, k := paygate.NewAPIKey(*merchant, *kind, time.Now().UTC())
	if err := st.Merchants.CreateAPIKey(ctx, k); err != nil {
		return err
	}
	if *asJSON {
		j := newKeyJSON(k)
		j.Key = plain
		return json.NewEncoder(stdout).Encode(j)
	}
	fmt.Fprintf(stdout, "Created %s key %s for %s:\n  %s\nThe key is shown only this once; store it now.\n", k.Kind, k.ID, k.MerchantID, plain)
	return nil
}

func keyList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("key list", stderr)
	db := dbFlag(fs)
	merchant := fs.String("merchant", "", "merchant id (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, _, err := openMerchant(ctx, *db, *merchant)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.Merchants.APIKeys(ctx, *merchant)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]keyJSON, 0, len(list))
		for _, k := range list {
			out = append(out, newKeyJSON(k))
		}
		return json.NewEncoder(stdout).Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tPREFIX\tCREATED\tREVOKED")
	for _, k := range list {
		j := newKeyJSON(k)
		fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\n", j.ID, j.Kind, j.Prefix, j.CreatedAt, j.RevokedAt)
	}
	return tw.Flush()
}

func keyRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("key revoke", stderr)
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: paygate key revoke [--db file] KEY_ID")
		return errUsage
	}
	st, err := openExisting(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Merchants.RevokeAPIKey(ctx, fs.Arg(0), time.Now().UTC()); err != nil {
		return fmt.Errorf("%s", paygate.ErrorMessage(err))
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"id": fs.Arg(0), "revoked": true})
	}
	fmt.Fprintf(stdout, "Revoked key %s.\n", fs.Arg(0))
	return nil
}
