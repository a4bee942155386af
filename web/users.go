package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/paygate/paygate"
)

// The Users page (admins): the merchant's users, invitations (a
// set-password link shown once), role changes, disabling.

type usersData struct {
	Users  []*paygate.User
	Self   string
	Roles  []paygate.Role
	Link   string // a new user's set-password link, shown once
	Email  string
	Error  string
	Notice string
}

func (d *Dashboard) usersPage(w http.ResponseWriter, r *http.Request) {
	d.renderUsers(w, r, http.StatusOK, usersData{})
}

func (d *Dashboard) renderUsers(w http.ResponseWriter, r *http.Request, status int, data usersData) {
	u, m := signedIn(r)
	list, err := d.Users.Users(r.Context(), m.ID)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	data.Users, data.Self, data.Roles = list, u.ID, paygate.Roles
	d.render(w, r, status, "users", data)
}

// baseURL is where the dashboard's links point.
func (d *Dashboard) baseURL(r *http.Request) string {
	if d.PublicURL != "" {
		return strings.TrimSuffix(d.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || d.TLS {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// SetPasswordLink is the link a new user opens to set their password.
func SetPasswordLink(base, token string) string {
	return strings.TrimSuffix(base, "/") + "/dashboard/set-password?token=" + token
}

func (d *Dashboard) invite(w http.ResponseWriter, r *http.Request) {
	admin, m := signedIn(r)
	role := paygate.Role(r.PostFormValue("role"))
	nu, err := paygate.NewUser(m.ID, r.PostFormValue("email"), role, d.now())
	if err != nil {
		d.renderUsers(w, r, http.StatusUnprocessableEntity, usersData{Email: r.PostFormValue("email"), Error: paygate.ErrorMessage(err)})
		return
	}
	token, t := paygate.NewSetPasswordToken(nu, d.now())
	a := d.auditEntry(r, admin, "user.invite", nu.ID, nu.Email+" as "+string(nu.Role))
	if err := d.Users.CreateUser(r.Context(), nu, t, a); err != nil {
		if errors.Is(err, paygate.ErrDuplicate) {
			d.renderUsers(w, r, http.StatusConflict, usersData{Email: nu.Email, Error: "A user with this e-mail address exists already."})
			return
		}
		d.internalError(w, r, err)
		return
	}
	d.renderUsers(w, r, http.StatusOK, usersData{Link: SetPasswordLink(d.baseURL(r), token), Notice: nu.Email + " was invited as " + string(nu.Role) + "."})
}

func (d *Dashboard) updateUser(w http.ResponseWriter, r *http.Request) {
	admin, m := signedIn(r)
	ctx := r.Context()
	u, err := d.Users.User(ctx, r.PathValue("id"))
	if err != nil || u.MerchantID != m.ID {
		d.notFound(w, r)
		return
	}
	if u.ID == admin.ID {
		d.renderUsers(w, r, http.StatusUnprocessableEntity, usersData{Error: "You cannot change your own role or disable yourself."})
		return
	}
	var action, detail string
	switch {
	case r.PostFormValue("role") != "":
		role := paygate.Role(r.PostFormValue("role"))
		if !role.Valid() {
			d.renderUsers(w, r, http.StatusUnprocessableEntity, usersData{Error: "Choose admin, operator or viewer."})
			return
		}
		action, detail = "user.role", string(u.Role)+" → "+string(role)
		u.Role = role
	case r.PostFormValue("disable") == "1":
		action, u.Disabled = "user.disable", true
	case r.PostFormValue("disable") == "0":
		action, u.Disabled = "user.enable", false
	default:
		d.renderUsers(w, r, http.StatusUnprocessableEntity, usersData{Error: "Nothing to change."})
		return
	}
	u.UpdatedAt = d.now()
	if err := d.Users.UpdateUser(ctx, u, false, "", d.auditEntry(r, admin, action, u.ID, u.Email+" "+detail)); err != nil {
		d.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, "/dashboard/users", http.StatusSeeOther)
}
