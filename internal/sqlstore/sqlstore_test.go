package sqlstore_test

import (
	"testing"

	"github.com/paygate/paygate/internal/sqlstore"
)

func TestDialectSQL(t *testing.T) {
	lite := &sqlstore.Dialect{True: "1", False: "0", Instr: "instr"}
	pg := &sqlstore.Dialect{Numbered: true, True: "TRUE", False: "FALSE", Instr: "strpos"}
	tests := []struct {
		query, lite, pg string
	}{
		{`SELECT a FROM t WHERE b = ? AND c < ?`, `SELECT a FROM t WHERE b = ? AND c < ?`, `SELECT a FROM t WHERE b = $1 AND c < $2`},
		{`UPDATE t SET done = TRUE WHERE done = FALSE AND k = ?`, `UPDATE t SET done = 1 WHERE done = 0 AND k = ?`, `UPDATE t SET done = TRUE WHERE done = FALSE AND k = $1`},
		// Only the whole words, and not inside string literals.
		{`SELECT TRUEST, is_TRUE, FALSE_x FROM t WHERE s = 'TRUE?' AND n = ?`, `SELECT TRUEST, is_TRUE, FALSE_x FROM t WHERE s = 'TRUE?' AND n = ?`,
			`SELECT TRUEST, is_TRUE, FALSE_x FROM t WHERE s = 'TRUE?' AND n = $1`},
		{`SELECT 1 WHERE INSTR(a, '"' || ?) > 0 AND b = 'INSTR'`, `SELECT 1 WHERE instr(a, '"' || ?) > 0 AND b = 'INSTR'`,
			`SELECT 1 WHERE strpos(a, '"' || $1) > 0 AND b = 'INSTR'`},
		{`VALUES (?, 1 + CAST(? AS BIGINT)), ('it''s', ?)`, `VALUES (?, 1 + CAST(? AS BIGINT)), ('it''s', ?)`, `VALUES ($1, 1 + CAST($2 AS BIGINT)), ('it''s', $3)`},
	}
	for _, tt := range tests {
		for _, d := range []struct {
			name string
			d    *sqlstore.Dialect
			want string
		}{{"sqlite", lite, tt.lite}, {"postgres", pg, tt.pg}} {
			for range 2 { // the second time from the cache
				if got := d.d.SQL(tt.query); got != d.want {
					t.Errorf("%s SQL(%q):\ngot  %q\nwant %q", d.name, tt.query, got, d.want)
				}
			}
		}
	}
}

func TestWriteSingle(t *testing.T) {
	stmt := sqlstore.Stmt{SQL: "x", Check: func(int64, error) error { return nil }}
	then := func(sqlstore.Tx) error { return nil }
	tests := []struct {
		name string
		w    sqlstore.Write
		want bool
	}{
		{"one statement", sqlstore.Write{Stmts: []sqlstore.Stmt{stmt}}, true},
		{"two statements", sqlstore.Write{Stmts: []sqlstore.Stmt{stmt, stmt}}, false},
		{"a statement and then", sqlstore.Write{Stmts: []sqlstore.Stmt{stmt}, Then: then}, false},
		{"a statement that frees", sqlstore.Write{Stmts: []sqlstore.Stmt{stmt}, Frees: true}, false},
	}
	for _, tt := range tests {
		if got := tt.w.Single(); got != tt.want {
			t.Errorf("%s: Single() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
