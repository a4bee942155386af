package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	st, err := openStores(ctx, *db, poolConfig{}) // opening applies what is missing
	if err != nil {
		return err
	}
	defer st.Close()
	schema, err := st.Migrations(ctx)
	if err != nil {
		return err
	}
	applied := st.Applied
	if applied == nil {
		applied = []string{}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"applied": applied, "schema": schema})
	}
	for _, n := range applied {
		fmt.Fprintf(stdout, "applied %s\n", n)
	}
	if len(applied) == 0 && len(schema) > 0 {
		fmt.Fprintf(stdout, "The schema is current (%s); nothing to apply.\n", schema[len(schema)-1])
	}
	return nil
}
