package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var userTests = []test{
	{"CreateAndRead", testUserCreate},
	{"SetPassword", testUserSetPassword},
	{"Update", testUserUpdate},
	{"SecondFactor", testUserSecondFactor},
	{"SignInFailures", testUserSignInFailures},
	{"DashSession", testDashSession},
	{"PruneSignIns", testPruneSignIns},
	{"AuditLog", testAuditLog},
	{"QueueAudit", testQueueAudit},
}

// MustCreateUser stores a new user of merchant m created at Base.
func MustCreateUser(tb testing.TB, s Stores, m *paygate.Merchant, email string, role paygate.Role) *paygate.User {
	tb.Helper()
	u, err := paygate.NewUser(m.ID, email, role, Base)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Users.CreateUser(tb.Context(), u, nil, nil); err != nil {
		tb.Fatalf("CreateUser: %v", err)
	}
	return u
}

func auditCount(tb testing.TB, s Stores, merchantID string) int {
	tb.Helper()
	list, err := s.Audit.AuditLog(tb.Context(), merchantID, paygate.AuditFilter{Limit: 500})
	if err != nil {
		tb.Fatal(err)
	}
	return len(list)
}

func testUserCreate(t *testing.T, s Stores) {
	ctx := t.Context()
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	u, err := paygate.NewUser(m.ID, " Ann@Example.COM ", paygate.RoleAdmin, Base)
	if err != nil {
		t.Fatal(err)
	}
	_, tok := paygate.NewSetPasswordToken(u, Base)
	a := paygate.NewAuditEntry(nil, "user.create", u.ID, "role admin", Base)
	a.MerchantID, a.ActorType, a.ActorID = m.ID, paygate.ActorCLI, "cli"
	if err := s.Users.CreateUser(ctx, u, tok, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.Users.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, u) {
		t.Errorf("User: got %+v, want %+v", got, u)
	}
	if got, err := s.Users.UserByEmail(ctx, "ann@example.com"); err != nil || got.ID != u.ID {
		t.Errorf("UserByEmail: got %v, %v", got, err)
	}
	if _, err := s.Users.UserByEmail(ctx, "bob@example.com"); paygate.ErrorCode(err) != paygate.ENOTFOUND {
		t.Errorf("UserByEmail of nobody: got %v, want not found", err)
	}
	dup, _ := paygate.NewUser(m.ID, "ann@example.com", paygate.RoleViewer, Base)
	checkIs(t, "CreateUser of a taken address", s.Users.CreateUser(ctx, dup, nil, nil), paygate.ErrDuplicate)
	MustCreateUser(t, s, m, "bob@example.com", paygate.RoleViewer)
	other := MustCreateMerchant(t, s.Merchants, "Other")
	MustCreateUser(t, s, other, "carol@example.com", paygate.RoleViewer)
	list, err := s.Users.Users(ctx, m.ID)
	if err != nil || len(list) != 2 || list[0].MerchantID != m.ID || list[1].MerchantID != m.ID {
		t.Errorf("Users: got %d users (%v), want ann and bob", len(list), err)
	}
	if n := auditCount(t, s, m.ID); n != 1 {
		t.Errorf("audit entries: got %d, want 1 (written with the user)", n)
	}
}

func testUserSetPassword(t *testing.T, s Stores) {
	ctx := t.Context()
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	u := MustCreateUser(t, s, m, "ann@example.com", paygate.RoleAdmin)
	token, tok := paygate.NewSetPasswordToken(u, Base)
	if err := s.Users.CreateUserToken(ctx, tok, nil); err != nil {
		t.Fatal(err)
	}
	// A session of the user ends when the password is set.
	_, sess := paygate.NewDashSession(u, true, "127.0.0.1", "test", Base)
	if err := s.DashSessions.CreateDashSession(ctx, sess, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users.SetPassword(ctx, paygate.HashToken(token), "hash-1", tok.ExpiresAt, nil); paygate.ErrorCode(err) != paygate.ENOTFOUND {
		t.Errorf("SetPassword at expiry: got %v, want not found", err)
	}
	a := paygate.NewAuditEntry(nil, "user.set_password", "", "", Base)
	got, err := s.Users.SetPassword(ctx, paygate.HashToken(token), "hash-1", Base.Add(time.Hour), a)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || got.PasswordHash != "hash-1" {
		t.Errorf("SetPassword: got %+v", got)
	}
	if _, err := s.Users.SetPassword(ctx, paygate.HashToken(token), "hash-2", Base.Add(time.Hour), nil); paygate.ErrorCode(err) != paygate.ENOTFOUND {
		t.Errorf("SetPassword twice: got %v, want not found", err)
	}
	if u2, _ := s.Users.User(ctx, u.ID); u2.PasswordHash != "hash-1" {
		t.Errorf("password hash after a second use: %q", u2.PasswordHash)
	}
	if _, err := s.DashSessions.DashSession(ctx, sess.TokenHash); paygate.ErrorCode(err) != paygate.ENOTFOUND {
		t.Errorf("session after a new password: got %v, want not found", err)
	}
	list, _ := s.Audit.AuditLog(ctx, m.ID, paygate.AuditFilter{})
	if len(list) != 1 || list[0].ActorID != u.ID || list[0].ActorEmail != u.Email || list[0].Action != "user.set_password" {
		t.Errorf("audit: got %+v", list)
	}
}

func testUserUpdate(t *testing.T, s Stores) {
	ctx := t.Context()
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	u := MustCreateUser(t, s, m, "ann@example.com", paygate.RoleOperator)
	_, keep := paygate.NewDashSession(u, true, "", "", Base)
	_, other := paygate.NewDashSession(u, true, "", "", Base)
	for _, d := range []*paygate.DashSession{keep, other} {
		if err := s.DashSessions.CreateDashSession(ctx, d, nil); err != nil {
			t.Fatal(err)
		}
	}
	u.Role, u.UpdatedAt = paygate.RoleViewer, Base.Add(time.Minute).Truncate(time.Microsecond)
	if err := s.Users.UpdateUser(ctx, u, false, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DashSessions.DashSession(ctx, other.TokenHash); err != nil {
		t.Errorf("a role change ended a session: %v", err)
	}
	u.PasswordHash = "new"
	if err := s.Users.UpdateUser(ctx, u, true, keep.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DashSessions.DashSession(ctx, other.TokenHash); err == nil {
		t.Error("a new password kept the other session")
	}
	if _, err := s.DashSessions.DashSession(ctx, keep.TokenHash); err != nil {
		t.Errorf("a new password ended the session kept: %v", err)
	}
	u.Disabled = true
	if err := s.Users.UpdateUser(ctx, u, false, "", paygate.NewAuditEntry(u, "user.disable", u.ID, "", Base)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DashSessions.DashSession(ctx, keep.TokenHash); err == nil {
		t.Error("disabling kept a session")
	}
	got, _ := s.Users.User(ctx, u.ID)
	if !reflect.DeepEqual(got, u) {
		t.Errorf("after updates: got %+v, want %+v", got, u)
	}
	ghost := *u
	ghost.ID = "usr_nobody"
	if err := s.Users.UpdateUser(ctx, &ghost, false, "", nil); paygate.ErrorCode(err) != paygate.ENOTFOUND {
		t.Errorf("UpdateUser of nobody: got %v", err)
	}
}

func testUserSecondFactor(t *testing.T, s Stores) {
	ctx := t.Context()
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	u := MustCreateUser(t, s, m, "ann@example.com", paygate.RoleAdmin)
	for _, c := range []struct {
		step int64
		want bool
	}{{100, true}, {100, false}, {99, false}, {101, true}} {
		ok, err := s.Users.UseTOTPStep(ctx, u.ID, c.step)
		if err != nil || ok != c.want {
			t.Errorf("UseTOTPStep(%d): got %v, %v, want %v", c.step, ok, err, c.want)
		}
	}
	if err := s.Users.SetRecoveryCodes(ctx, u.ID, []string{"h1", "h2", "h3"}, Base, nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Users.UseRecoveryCode(ctx, u.ID, "h2", Base); !ok || err != nil {
		t.Errorf("UseRecoveryCode: %v, %v", ok, err)
	}
	if ok, _ := s.Users.UseRecoveryCode(ctx, u.ID, "h2", Base); ok {
		t.Error("a recovery code worked twice")
	}
	if n, _ := s.Users.RecoveryCodesLeft(ctx, u.ID); n != 2 {
		t.Errorf("RecoveryCodesLeft: got %d, want 2", n)
	}
	if err := s.Users.SetRecoveryCodes(ctx, u.ID, []string{"h4"}, Base, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Users.UseRecoveryCode(ctx, u.ID, "h1", Base); ok {
		t.Error("an old recovery code worked after new ones were made")
	}
}

func testUserSignInFailures(t *testing.T, s Stores) {
	ctx := t.Context()
	for i := range 3 {
		if err := s.Users.RecordSignInFailure(ctx, []string{"email:ann@example.com", "ip:10.0.0.1"}, Base.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	n, last, err := s.Users.SignInFailures(ctx, "email:ann@example.com", Base.Add(time.Minute))
	if err != nil || n != 2 || !last.Equal(Base.Add(2*time.Minute).Truncate(time.Microsecond)) {
		t.Errorf("SignInFailures: got %d, %s, %v; want 2 at +2m", n, fmtTime(last), err)
	}
	if err := s.Users.ClearSignInFailures(ctx, "email:ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.Users.SignInFailures(ctx, "email:ann@example.com", Base); n != 0 {
		t.Errorf("after Clear: %d failures", n)
	}
	if n, _, _ := s.Users.SignInFailures(ctx, "ip:10.0.0.1", Base); n != 3 {
		t.Errorf("the IP's failures: got %d, want 3", n)
	}
}

func testDashSession(t *testing.T, s Stores) {
	ctx := t.Context()
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	u := MustCreateUser(t, s, m, "ann@example.com", paygate.RoleViewer)
	token, d := paygate.NewDashSession(u, false, "192.0.2.1", "Mozilla/5.0", Base)
	if err := s.DashSessions.CreateDashSession(ctx, d, paygate.NewAuditEntry(u, "user.sign_in", u.ID, "", Base)); err != nil {
		t.Fatal(err)
	}
	got, err := s.DashSessions.DashSession(ctx, paygate.HashToken(token))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Errorf("DashSession: got %+v, want %+v", got, d)
	}
	if err := s.DashSessions.TouchDashSession(ctx, d.ID, Base.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.DashSessions.TouchDashSession(ctx, d.ID, Base.Add(time.Minute)); err != nil { // never backwards
		t.Fatal(err)
	}
	got, _ = s.DashSessions.DashSession(ctx, d.TokenHash)
	if !got.LastSeenAt.Equal(Base.Add(5 * time.Minute).Truncate(time.Microsecond)) {
		t.Errorf("LastSeenAt: got %s", fmtTime(got.LastSeenAt))
	}
	if err := s.DashSessions.DeleteDashSession(ctx, d.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DashSessions.DashSession(ctx, d.TokenHash); paygate.ErrorCode(err) != paygate.ENOTFOUND {
		t.Errorf("after Delete: %v", err)
	}
	if err := s.DashSessions.DeleteDashSession(ctx, d.ID, nil); err != nil {
		t.Errorf("a second Delete: %v", err)
	}
}

func testAuditLog(t *testing.T, s Stores) {
	ctx := t.Context()
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	u := MustCreateUser(t, s, m, "ann@example.com", paygate.RoleAdmin)
	var want []*paygate.AuditEntry
	for i, action := range []string{"user.sign_in", "settings.update", "user.sign_out", "payment.refund", "user.sign_in"} {
		a := paygate.NewAuditEntry(u, action, "pay_1", "card 4242424242424242 detail", Base.Add(time.Duration(i)*time.Second)).From("192.0.2.1", "UA")
		if err := s.Audit.AppendAudit(ctx, a); err != nil {
			t.Fatal(err)
		}
		want = append([]*paygate.AuditEntry{a}, want...)
	}
	k := paygate.NewAuditEntry(nil, "POST /v1/payments", "", "", Base)
	k.MerchantID, k.ActorType, k.ActorID = other.ID, paygate.ActorAPIKey, "key_1"
	if err := s.Audit.AppendAudit(ctx, k); err != nil {
		t.Fatal(err)
	}
	all, err := s.Audit.AuditLog(ctx, m.ID, paygate.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("AuditLog: got %d entries, want %d newest first", len(all), len(want))
	}
	if d := all[0].Detail; d != "card 424242******4242 detail" && d == "card 4242424242424242 detail" {
		t.Errorf("a card number reached the audit log: %q", d)
	}
	page, _ := s.Audit.AuditLog(ctx, m.ID, paygate.AuditFilter{Limit: 2, Before: all[1].ID})
	if len(page) != 2 || page[0].ID != all[2].ID || page[1].ID != all[3].ID {
		t.Errorf("page after %s: got %d entries", all[1].ID, len(page))
	}
	signIns, _ := s.Audit.AuditLog(ctx, m.ID, paygate.AuditFilter{Action: "user.sign_in"})
	users, _ := s.Audit.AuditLog(ctx, m.ID, paygate.AuditFilter{Action: "user."})
	if len(signIns) != 2 || len(users) != 3 {
		t.Errorf("by action: %d sign-ins (want 2), %d user actions (want 3)", len(signIns), len(users))
	}
	if byKey, _ := s.Audit.AuditLog(ctx, other.ID, paygate.AuditFilter{ActorID: "key_1"}); len(byKey) != 1 {
		t.Errorf("by actor: got %d, want 1", len(byKey))
	}
	// The store has no way to change an entry: the type says so.
	if _, ok := s.Audit.(interface{ DeleteAudit(string) error }); ok {
		t.Error("the audit store can delete")
	}
}

// testQueueAudit: entries queued without waiting are listed by the next
// AuditLog, in order, and each one's outcome reaches its callback.
func testQueueAudit(t *testing.T, s Stores) {
	ctx := t.Context()
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	q, ok := s.Audit.(paygate.AuditQueuer)
	if !ok {
		t.Fatal("the audit store does not queue")
	}
	const n = 20
	outcomes := make(chan error, n+1)
	var ids []string
	for i := range n {
		a := paygate.NewAuditEntry(nil, "POST /v1/payments", "", "status 201", Base.Add(time.Duration(i)*time.Second))
		a.MerchantID, a.ActorType, a.ActorID = m.ID, paygate.ActorAPIKey, "key_1"
		q.QueueAudit(ctx, a, func(err error) { outcomes <- err })
		ids = append([]string{a.ID}, ids...)
	}
	all, err := s.Audit.AuditLog(ctx, m.ID, paygate.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range all {
		got = append(got, a.ID)
	}
	if !reflect.DeepEqual(got, ids) {
		t.Fatalf("AuditLog after QueueAudit: got %d entries %v, want %d newest first", len(got), got, len(ids))
	}
	for range n {
		if err := <-outcomes; err != nil {
			t.Errorf("a queued entry's outcome: %v", err)
		}
	}
	// A failed entry (its id taken) reports its error.
	dup := *all[0]
	q.QueueAudit(ctx, &dup, func(err error) { outcomes <- err })
	if err := <-outcomes; err == nil {
		t.Error("an entry with a taken id was queued without error")
	}
}

// testPruneSignIns: ended sessions (idle, or past their lifetime) and old
// failures go; a live session and recent failures stay.
func testPruneSignIns(t *testing.T, s Stores) {
	ctx := t.Context()
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	u := MustCreateUser(t, s, m, "ann@example.com", paygate.RoleViewer)
	now := Base.Add(48 * time.Hour)
	session := func(created, seen time.Time) *paygate.DashSession {
		_, d := paygate.NewDashSession(u, true, "192.0.2.1", "UA", created)
		d.LastSeenAt = seen
		if err := s.DashSessions.CreateDashSession(ctx, d, nil); err != nil {
			t.Fatal(err)
		}
		return d
	}
	live := session(now.Add(-time.Hour), now.Add(-time.Minute))
	idle := session(now.Add(-time.Hour), now.Add(-paygate.DashIdleTimeout-time.Second))
	old := session(now.Add(-paygate.DashMaxLifetime-time.Second), now.Add(-time.Minute))
	if err := s.Users.RecordSignInFailure(ctx, []string{"email:ann@example.com", "ip:192.0.2.1"}, now.Add(-paygate.SignInFailureTTL-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Users.RecordSignInFailure(ctx, []string{"email:ann@example.com"}, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	n, err := s.DashSessions.PruneSignIns(ctx, now.Add(-paygate.DashIdleTimeout), now.Add(-paygate.DashMaxLifetime), now.Add(-paygate.SignInFailureTTL))
	if err != nil || n != 4 {
		t.Errorf("PruneSignIns: deleted %d (%v), want 2 sessions and 2 failures", n, err)
	}
	if _, err := s.DashSessions.DashSession(ctx, live.TokenHash); err != nil {
		t.Errorf("the live session: %v", err)
	}
	for _, d := range []*paygate.DashSession{idle, old} {
		if _, err := s.DashSessions.DashSession(ctx, d.TokenHash); paygate.ErrorCode(err) != paygate.ENOTFOUND {
			t.Errorf("ended session %s: %v, want gone", d.ID, err)
		}
	}
	if c, _, err := s.Users.SignInFailures(ctx, "email:ann@example.com", now.Add(-48*time.Hour)); err != nil || c != 1 {
		t.Errorf("failures left: %d (%v), want the recent one", c, err)
	}
	if n, err := s.DashSessions.PruneSignIns(ctx, now.Add(-paygate.DashIdleTimeout), now.Add(-paygate.DashMaxLifetime), now.Add(-paygate.SignInFailureTTL)); err != nil || n != 0 {
		t.Errorf("PruneSignIns again: %d %v, want 0", n, err)
	}
}
