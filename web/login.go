package web

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/paygate/paygate"
)

// Sign-in: e-mail and password, then (for a user who has one) a TOTP or
// recovery code. Failures are counted in the database per address and per
// IP (paygate.SignInMaxFailures and SignInIPMaxFailures in SignInWindow),
// so every node agrees on a lock-out. A session is made at each step and
// the one before it ended: the token changes at sign-in.

type loginData struct {
	Step   string // "password" or "code"
	Email  string
	Next   string
	Error  string
	Notice string
}

// clientIP is the address the request came from (no proxy is trusted).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// safeNext keeps a redirect after sign-in inside the dashboard.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/dashboard/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/dashboard/"
	}
	return next
}

// auditEntry is an entry of the signed-in user's action, from r.
func (d *Dashboard) auditEntry(r *http.Request, u *paygate.User, action, target, detail string) *paygate.AuditEntry {
	return paygate.NewAuditEntry(u, action, target, detail, d.now()).From(clientIP(r), r.UserAgent())
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	if s := signInOf(r); s != nil && s.Verified {
		http.Redirect(w, r, "/dashboard/", http.StatusSeeOther)
		return
	}
	data := loginData{Step: "password", Next: safeNext(r.URL.Query().Get("next"))}
	switch r.URL.Query().Get("done") {
	case "password":
		data.Notice = "Your password is set. Sign in with it."
	case "out":
		data.Notice = "You have signed out."
	}
	d.render(w, r, http.StatusOK, "login", data)
}

// locked reports whether sign-in is refused for the address or the IP,
// and shows the page that says so.
func (d *Dashboard) locked(w http.ResponseWriter, r *http.Request, email string) (bool, error) {
	now := d.now()
	ctx := r.Context()
	n, _, err := d.Users.SignInFailures(ctx, "ip:"+clientIP(r), now.Add(-paygate.SignInWindow))
	if err != nil {
		return false, err
	}
	if n >= paygate.SignInIPMaxFailures {
		d.message(w, r, http.StatusTooManyRequests, "Too many attempts",
			"There were too many failed sign-ins from your network. Wait 15 minutes, then try again.")
		return true, nil
	}
	if email == "" {
		return false, nil
	}
	n, _, err = d.Users.SignInFailures(ctx, "email:"+email, now.Add(-paygate.SignInWindow))
	if err != nil {
		return false, err
	}
	if n >= paygate.SignInMaxFailures {
		d.message(w, r, http.StatusTooManyRequests, "This account is locked",
			"There were too many failed sign-ins to this account. It is locked for 15 minutes; try again later, or ask an administrator.")
		return true, nil
	}
	return false, nil
}

func (d *Dashboard) failed(r *http.Request, email string) error {
	keys := []string{"ip:" + clientIP(r)}
	if email != "" {
		keys = append(keys, "email:"+email)
	}
	return d.Users.RecordSignInFailure(r.Context(), keys, d.now())
}

// dummyHash is verified against when no user has the address, so that the
// answer takes as long whether or not they exist.
var dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2xAUbGl0dGxlcGFkZGluZ3RvbWFrZTMyYnl0ZXM"

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if d.Users == nil || d.Sessions == nil || d.Passwords == nil {
		d.message(w, r, http.StatusServiceUnavailable, "Sign-in is not available", "This gateway has no user store.")
		return
	}
	ctx := r.Context()
	email, _ := paygate.NormalizeEmail(r.PostFormValue("email"))
	data := loginData{Step: "password", Email: r.PostFormValue("email"), Next: safeNext(r.PostFormValue("next"))}
	if locked, err := d.locked(w, r, email); err != nil {
		d.internalError(w, r, err)
		return
	} else if locked {
		return
	}
	var u *paygate.User
	ok := false
	if email != "" {
		var err error
		u, err = d.Users.UserByEmail(ctx, email)
		if err != nil && paygate.ErrorCode(err) != paygate.ENOTFOUND {
			d.internalError(w, r, err)
			return
		}
	}
	pw := r.PostFormValue("password")
	if u != nil && u.PasswordHash != "" {
		var err error
		if ok, err = d.Passwords.Verify(u.PasswordHash, pw); err != nil {
			d.internalError(w, r, err)
			return
		}
	} else {
		d.Passwords.Verify(dummyHash, pw)
	}
	if !ok || u.Disabled {
		if err := d.failed(r, email); err != nil {
			d.internalError(w, r, err)
			return
		}
		if u != nil {
			d.Audit.AppendAudit(ctx, d.auditEntry(r, u, "user.sign_in_failed", u.ID, "wrong password"))
		}
		data.Error = "Incorrect e-mail address or password."
		d.render(w, r, http.StatusUnauthorized, "login", data)
		return
	}
	if err := d.Users.ClearSignInFailures(ctx, "email:"+email); err != nil {
		d.internalError(w, r, err)
		return
	}
	verified := !u.Enrolled()
	var a *paygate.AuditEntry
	if verified {
		a = d.auditEntry(r, u, "user.sign_in", u.ID, "password")
	}
	if err := d.startSession(w, r, u, verified, a); err != nil {
		d.internalError(w, r, err)
		return
	}
	if !verified {
		http.Redirect(w, r, "/dashboard/login/totp?next="+url.QueryEscape(data.Next), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
}

// startSession makes a new session for u, ends the request's one, and
// sets the cookie.
func (d *Dashboard) startSession(w http.ResponseWriter, r *http.Request, u *paygate.User, verified bool, a *paygate.AuditEntry) error {
	token, ds := paygate.NewDashSession(u, verified, clientIP(r), r.UserAgent(), d.now())
	if err := d.Sessions.CreateDashSession(r.Context(), ds, a); err != nil {
		return err
	}
	if old := signInOf(r); old != nil && old.session != nil {
		if err := d.Sessions.DeleteDashSession(r.Context(), old.session.ID, nil); err != nil {
			return err
		}
	}
	http.SetCookie(w, d.cookie(d.sessionCookieName(), token, 0))
	return nil
}

func (d *Dashboard) totpPage(w http.ResponseWriter, r *http.Request) {
	s := signInOf(r)
	if s == nil {
		http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
		return
	}
	if s.Verified {
		http.Redirect(w, r, "/dashboard/", http.StatusSeeOther)
		return
	}
	d.render(w, r, http.StatusOK, "login", loginData{Step: "code", Email: s.User.Email, Next: safeNext(r.URL.Query().Get("next"))})
}

func (d *Dashboard) totpLogin(w http.ResponseWriter, r *http.Request) {
	s := signInOf(r)
	if s == nil || s.session == nil {
		http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
		return
	}
	if s.Verified {
		http.Redirect(w, r, "/dashboard/", http.StatusSeeOther)
		return
	}
	ctx, u := r.Context(), s.User
	data := loginData{Step: "code", Email: u.Email, Next: safeNext(r.PostFormValue("next"))}
	if locked, err := d.locked(w, r, u.Email); err != nil {
		d.internalError(w, r, err)
		return
	} else if locked {
		return
	}
	code := r.PostFormValue("code")
	ok, how := false, "totp"
	var err error
	if looksLikeRecoveryCode(code) {
		how = "recovery code"
		ok, err = d.Users.UseRecoveryCode(ctx, u.ID, recoveryHash(code), d.now())
	} else if step := totpStep(u.TOTPSecret, code, d.now()); step >= 0 {
		ok, err = d.Users.UseTOTPStep(ctx, u.ID, step)
	}
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	if !ok {
		if err := d.failed(r, u.Email); err != nil {
			d.internalError(w, r, err)
			return
		}
		d.Audit.AppendAudit(ctx, d.auditEntry(r, u, "user.sign_in_failed", u.ID, "wrong "+how))
		data.Error = "That code is not right, or was used already. Enter the current code from your authenticator app."
		d.render(w, r, http.StatusUnauthorized, "login", data)
		return
	}
	if err := d.startSession(w, r, u, true, d.auditEntry(r, u, "user.sign_in", u.ID, "password and "+how)); err != nil {
		d.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	if s := signInOf(r); s != nil && s.session != nil {
		if err := d.Sessions.DeleteDashSession(r.Context(), s.session.ID, d.auditEntry(r, s.User, "user.sign_out", s.User.ID, "")); err != nil {
			d.internalError(w, r, err)
			return
		}
	}
	http.SetCookie(w, d.cookie(d.sessionCookieName(), "", -1))
	http.Redirect(w, r, "/dashboard/login?done=out", http.StatusSeeOther)
}

type setPasswordData struct {
	Token string
	Error string
}

func (d *Dashboard) setPasswordPage(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "setpassword", setPasswordData{Token: r.URL.Query().Get("token")})
}

func (d *Dashboard) setPassword(w http.ResponseWriter, r *http.Request) {
	token, pw := r.PostFormValue("token"), r.PostFormValue("password")
	data := setPasswordData{Token: token}
	if err := paygate.CheckPassword(pw); err != nil {
		data.Error = paygate.ErrorMessage(err)
	} else if pw != r.PostFormValue("confirm") {
		data.Error = "The two passwords are not the same."
	}
	if data.Error != "" {
		d.render(w, r, http.StatusUnprocessableEntity, "setpassword", data)
		return
	}
	hash, err := d.Passwords.Hash(pw)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	a := paygate.NewAuditEntry(nil, "user.set_password", "", "set-password link", d.now()).From(clientIP(r), r.UserAgent())
	if _, err := d.Users.SetPassword(r.Context(), paygate.HashToken(token), hash, d.now(), a); err != nil {
		if paygate.ErrorCode(err) == paygate.ENOTFOUND {
			data.Error = paygate.ErrorMessage(err)
			d.render(w, r, http.StatusNotFound, "setpassword", data)
			return
		}
		d.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, "/dashboard/login?done=password", http.StatusSeeOther)
}
