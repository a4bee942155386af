package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestBenchPostgres runs a short bench on PostgreSQL (the load in this
// process: the test binary cannot be the second paygate) and checks that
// its schema is gone afterwards.
func TestBenchPostgres(t *testing.T) {
	base := os.Getenv("PAYGATE_TEST_POSTGRES")
	if base == "" {
		t.Skip("PAYGATE_TEST_POSTGRES is not set")
	}
	clearPaygateEnv(t)
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"bench", "--postgres", base, "--duration", "1s", "--concurrency", "4",
		"--client", "in-process", "--json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("bench exited %d\nstderr:\n%s", code, stderr.String())
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(stdout.String()), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if rep.Engine != "postgres" || rep.Client != "in-process" || rep.Gateway == nil || rep.Echo == nil {
		t.Fatalf("report %s", stdout.String())
	}
	if rep.Sales == 0 || rep.Gateway.OK != rep.Gateway.Requests || rep.Sales != rep.Gateway.OK {
		t.Errorf("sales %d, gateway answered %d of %d ok", rep.Sales, rep.Gateway.OK, rep.Gateway.Requests)
	}
	if rep.BytesPerSale <= 0 || rep.WALBytesPerSale <= 0 || rep.CPUPerSaleUs <= 0 || rep.ColdStartMs <= 0 || rep.Ratio <= 0 {
		t.Errorf("a figure not measured: %s", stdout.String())
	}
	c, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var left int
	if err := c.QueryRow(context.Background(), `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'paygate_bench_%'`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d bench schemas left behind", left)
	}
}
