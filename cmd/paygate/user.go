package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/web"
)

func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: paygate user create|list [flags]"
	if len(args) == 0 {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, use+"\n\n  create  add a dashboard user to a merchant and print their one-time set-password link\n  list    list a merchant's dashboard users\n\nRun 'paygate user <subcommand> -h' for its flags.")
		return nil
	case "create":
		return userCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return userList(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "paygate user: unknown subcommand %q (want create or list)\n", args[0])
	return errUsage
}

func userCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("user create", stderr)
	db := dbFlag(fs)
	merchant := fs.String("merchant", "", "merchant id (required)")
	email := fs.String("email", "", "the user's e-mail address (required)")
	role := fs.String("role", string(paygate.RoleAdmin), "admin, operator or viewer")
	base := fs.String("url", env("PUBLIC_URL", "http://127.0.0.1:8080"), "the gateway's base URL, for the link (env PAYGATE_PUBLIC_URL)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, _, err := openMerchant(ctx, *db, *merchant)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	u, err := paygate.NewUser(*merchant, *email, paygate.Role(*role), now)
	if err != nil {
		return errors.New(paygate.ErrorMessage(err))
	}
	token, t := paygate.NewSetPasswordToken(u, now)
	host, _ := os.Hostname()
	a := paygate.NewAuditEntry(nil, "user.create", u.ID, u.Email+" as "+string(u.Role), now).From("", "paygate user create on "+host)
	a.MerchantID, a.ActorType, a.ActorID = u.MerchantID, paygate.ActorCLI, "cli"
	if err := st.Users.CreateUser(ctx, u, t, a); err != nil {
		if errors.Is(err, paygate.ErrDuplicate) {
			return fmt.Errorf("a user with the address %s exists already", u.Email)
		}
		return err
	}
	link := web.SetPasswordLink(strings.TrimSuffix(*base, "/"), token)
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{"id": u.ID, "merchant_id": u.MerchantID, "email": u.Email,
			"role": string(u.Role), "set_password_url": link, "expires_at": t.ExpiresAt.Format(time.RFC3339)})
	}
	fmt.Fprintf(stdout, "Created %s %s (%s) for %s.\nSet-password link (works once, until %s; shown only now):\n  %s\n",
		u.Role, u.ID, u.Email, u.MerchantID, t.ExpiresAt.Format(time.RFC3339), link)
	return nil
}

func userList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("user list", stderr)
	db := dbFlag(fs)
	merchant := fs.String("merchant", "", "merchant id (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, _, err := openMerchant(ctx, *db, *merchant)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.Users.Users(ctx, *merchant)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tROLE\tTWO-STEP\tSTATUS")
	for _, u := range list {
		status := "active"
		switch {
		case u.Disabled:
			status = "disabled"
		case u.PasswordHash == "":
			status = "invited"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", u.ID, u.Email, u.Role, u.Enrolled(), status)
	}
	return tw.Flush()
}
