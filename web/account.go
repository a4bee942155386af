package web

import (
	"net/http"

	"github.com/paygate/paygate"
)

// A user's own account: enrolling a second factor (admins and operators
// must before anything else), changing the password, new recovery codes.

type enrolData struct {
	Secret string
	URL    string
	Error  string
}

type codesData struct {
	Codes []string
	Next  string
}

type accountData struct {
	Enrolled  bool
	CodesLeft int
	Error     string
	Notice    string
}

func (d *Dashboard) enrolPage(w http.ResponseWriter, r *http.Request) {
	s := signInOf(r)
	if s.User.Enrolled() {
		http.Redirect(w, r, "/dashboard/account", http.StatusSeeOther)
		return
	}
	secret := d.enrolSecret(s.SessionID, s.User.ID)
	d.render(w, r, http.StatusOK, "enrol", enrolData{Secret: secret, URL: totpURL(s.Merchant.Title(), s.User.Email, secret)})
}

func (d *Dashboard) enrolQR(w http.ResponseWriter, r *http.Request) {
	s := signInOf(r)
	secret := d.enrolSecret(s.SessionID, s.User.ID)
	img, err := totpQR(totpURL(s.Merchant.Title(), s.User.Email, secret))
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(img)
}

func (d *Dashboard) enrol(w http.ResponseWriter, r *http.Request) {
	s := signInOf(r)
	u := *s.User
	if u.Enrolled() {
		http.Redirect(w, r, "/dashboard/account", http.StatusSeeOther)
		return
	}
	secret := d.enrolSecret(s.SessionID, u.ID)
	step := totpStep(secret, r.PostFormValue("code"), d.now())
	if step < 0 {
		d.render(w, r, http.StatusUnprocessableEntity, "enrol", enrolData{Secret: secret, URL: totpURL(s.Merchant.Title(), u.Email, secret),
			Error: "That code is not right. Enter the 6-digit code your authenticator app shows now."})
		return
	}
	ctx := r.Context()
	u.TOTPSecret, u.UpdatedAt = secret, d.now()
	if err := d.Users.UpdateUser(ctx, &u, false, "", d.auditEntry(r, &u, "user.totp_enrol", u.ID, "")); err != nil {
		d.internalError(w, r, err)
		return
	}
	if _, err := d.Users.UseTOTPStep(ctx, u.ID, step); err != nil {
		d.internalError(w, r, err)
		return
	}
	codes, hashes := newRecoveryCodes()
	if err := d.Users.SetRecoveryCodes(ctx, u.ID, hashes, d.now(), nil); err != nil {
		d.internalError(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "codes", codesData{Codes: codes, Next: "/dashboard/"})
}

func (d *Dashboard) account(w http.ResponseWriter, r *http.Request) {
	u, _ := signedIn(r)
	data := accountData{Enrolled: u.Enrolled()}
	if r.URL.Query().Get("done") == "password" {
		data.Notice = "Your password is changed. Your other sessions were signed out."
	}
	d.renderAccount(w, r, http.StatusOK, data)
}

func (d *Dashboard) renderAccount(w http.ResponseWriter, r *http.Request, status int, data accountData) {
	u, _ := signedIn(r)
	if d.Users != nil && u.Enrolled() {
		n, err := d.Users.RecoveryCodesLeft(r.Context(), u.ID)
		if err != nil {
			d.internalError(w, r, err)
			return
		}
		data.CodesLeft = n
	}
	d.render(w, r, status, "account", data)
}

func (d *Dashboard) changePassword(w http.ResponseWriter, r *http.Request) {
	s := signInOf(r)
	u := *s.User
	pw := r.PostFormValue("password")
	ok, err := d.Passwords.Verify(u.PasswordHash, r.PostFormValue("current"))
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	var msg string
	switch {
	case !ok:
		msg = "Your current password is not right."
	case paygate.CheckPassword(pw) != nil:
		msg = paygate.ErrorMessage(paygate.CheckPassword(pw))
	case pw != r.PostFormValue("confirm"):
		msg = "The two new passwords are not the same."
	}
	if msg != "" {
		d.renderAccount(w, r, http.StatusUnprocessableEntity, accountData{Enrolled: u.Enrolled(), Error: msg})
		return
	}
	if u.PasswordHash, err = d.Passwords.Hash(pw); err != nil {
		d.internalError(w, r, err)
		return
	}
	u.UpdatedAt = d.now()
	if err := d.Users.UpdateUser(r.Context(), &u, true, s.SessionID, d.auditEntry(r, &u, "user.change_password", u.ID, "")); err != nil {
		d.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, "/dashboard/account?done=password", http.StatusSeeOther)
}

func (d *Dashboard) regenerateCodes(w http.ResponseWriter, r *http.Request) {
	u, _ := signedIn(r)
	if !u.Enrolled() {
		http.Redirect(w, r, "/dashboard/account/totp", http.StatusSeeOther)
		return
	}
	codes, hashes := newRecoveryCodes()
	if err := d.Users.SetRecoveryCodes(r.Context(), u.ID, hashes, d.now(), d.auditEntry(r, u, "user.recovery_codes", u.ID, "")); err != nil {
		d.internalError(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "codes", codesData{Codes: codes, Next: "/dashboard/account"})
}
