package postgres_test

import (
	"testing"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/storetest"
)

// The audit log refuses UPDATE, DELETE and TRUNCATE, whoever sends them.
func TestAuditLogAppendOnly(t *testing.T) {
	dsn := MustSchema(t)
	s := Stores(MustOpen(t, dsn, small))
	m := storetest.MustCreateMerchant(t, s.Merchants, "Acme")
	a := paygate.NewAuditEntry(nil, "settings.update", m.ID, "", storetest.Base)
	a.MerchantID, a.ActorType, a.ActorID = m.ID, paygate.ActorCLI, "cli"
	if err := s.Audit.AppendAudit(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, dsn)
	for _, stmt := range []string{`UPDATE audit_log SET detail = 'x'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		if _, err := conn.Exec(t.Context(), stmt); err == nil {
			t.Errorf("%s: no error", stmt)
		}
	}
	if list, _ := s.Audit.AuditLog(t.Context(), m.ID, paygate.AuditFilter{}); len(list) != 1 || list[0].Detail != "" {
		t.Errorf("after the attempts: %+v", list)
	}
}
