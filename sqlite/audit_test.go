package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/storetest"
)

// The audit log refuses UPDATE and DELETE, whoever sends them.
func TestAuditLogAppendOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s := Stores(MustOpen(t, path))
	m := storetest.MustCreateMerchant(t, s.Merchants, "Acme")
	a := paygate.NewAuditEntry(nil, "settings.update", m.ID, "", storetest.Base)
	a.MerchantID, a.ActorType, a.ActorID = m.ID, paygate.ActorCLI, "cli"
	if err := s.Audit.AppendAudit(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{`UPDATE audit_log SET detail = 'x'`, `DELETE FROM audit_log`} {
		if _, err := db.Exec(stmt); err == nil {
			t.Errorf("%s: no error", stmt)
		}
	}
	if list, _ := s.Audit.AuditLog(t.Context(), m.ID, paygate.AuditFilter{}); len(list) != 1 || list[0].Detail != "" {
		t.Errorf("after the attempts: %+v", list)
	}
}
