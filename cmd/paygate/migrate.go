package main

import (
	"context"
	"fmt"
	"io"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	db := dbFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := openStores(ctx, *db, poolConfig{}) // opening applies what is missing
	if err != nil {
		return err
	}
	defer st.Close()
	names, err := st.migrations(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		fmt.Fprintf(stdout, "applied %s\n", n)
	}
	return nil
}
