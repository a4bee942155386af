package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/paygate/paygate"
)

// signIn is who a dashboard request comes from: the user, the merchant,
// and the session (whose id binds the CSRF tokens).
type signIn struct {
	User      *paygate.User
	Merchant  *paygate.Merchant
	SessionID string
	// Verified says the second factor was given in this session (or the
	// user's role does not need one and they have none).
	Verified bool
	session  *paygate.DashSession // nil for SignInForTest's
}

const signInKey ctxKey = 1

func withSignInContext(ctx context.Context, s *signIn) context.Context {
	return context.WithValue(ctx, signInKey, s)
}

func signInOf(r *http.Request) *signIn {
	s, _ := r.Context().Value(signInKey).(*signIn)
	return s
}

// signedIn returns the signed-in user and their merchant, nil, nil if no
// one is signed in.
func signedIn(r *http.Request) (*paygate.User, *paygate.Merchant) {
	if s := signInOf(r); s != nil {
		return s.User, s.Merchant
	}
	return nil, nil
}

// require serves h to signed-in users whose role has p: anyone else is
// sent to the sign-in page (not signed in), to finish the second factor or
// enrol one (admins and operators before anything else), or shown the 403
// page.
func (d *Dashboard) require(p paygate.Permission, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := signInOf(r)
		if s == nil {
			next := ""
			if r.Method == http.MethodGet {
				next = "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, "/dashboard/login"+next, http.StatusSeeOther)
			return
		}
		if !s.Verified {
			http.Redirect(w, r, "/dashboard/login/totp", http.StatusSeeOther)
			return
		}
		if s.User.Role.NeedsSecondFactor() && !s.User.Enrolled() {
			http.Redirect(w, r, "/dashboard/account/totp", http.StatusSeeOther)
			return
		}
		if !s.User.Role.Can(p) {
			d.forbidden(w, r)
			return
		}
		h(w, r)
	})
}

// The dashboard's cookies: the session (HttpOnly, SameSite=Lax, Secure and
// __Host- prefixed on TLS) and, before sign-in, a random value that binds
// the sign-in forms' CSRF tokens.
func (d *Dashboard) sessionCookieName() string {
	if d.TLS {
		return "__Host-paygate_dash"
	}
	return "paygate_dash"
}

func (d *Dashboard) preCookieName() string {
	if d.TLS {
		return "__Host-paygate_dash_pre"
	}
	return "paygate_dash_pre"
}

func (d *Dashboard) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: d.TLS, SameSite: http.SameSiteLaxMode}
}

// withSignIn puts the signed-in user, if any, in the request's context.
func (d *Dashboard) withSignIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(d.sessionCookieName())
		if err == nil && c.Value != "" {
			s, err := d.lookupSession(r, c.Value)
			if err != nil {
				d.internalError(w, r, err)
				return
			}
			if s != nil {
				r = r.WithContext(withSignInContext(r.Context(), s))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// lookupSession finds who a session cookie's value belongs to: nil if no
// one (unknown, expired, or a disabled user). A session seen more than a
// minute ago is touched, so that it stays alive while in use without a
// write on every request.
func (d *Dashboard) lookupSession(r *http.Request, token string) (*signIn, error) {
	d.testMu.Lock()
	s := d.testSessions[token]
	d.testMu.Unlock()
	if s != nil {
		cp := *s
		if d.Gateway.Merchants != nil {
			if m, err := d.Gateway.Merchants.Merchant(r.Context(), s.Merchant.ID); err == nil {
				cp.Merchant = m
			}
		}
		if d.Users != nil {
			if u, err := d.Users.User(r.Context(), s.User.ID); err == nil {
				cp.User = u
			}
		}
		return &cp, nil
	}
	if d.Sessions == nil || d.Users == nil {
		return nil, nil
	}
	ctx := r.Context()
	ds, err := d.Sessions.DashSession(ctx, paygate.HashToken(token))
	if paygate.ErrorCode(err) == paygate.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := d.now()
	if ds.Expired(now) {
		return nil, d.Sessions.DeleteDashSession(ctx, ds.ID, nil)
	}
	u, err := d.Users.User(ctx, ds.UserID)
	if paygate.ErrorCode(err) == paygate.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, nil
	}
	m, err := d.Gateway.Merchants.Merchant(ctx, u.MerchantID)
	if err != nil {
		return nil, err
	}
	if now.Sub(ds.LastSeenAt) > time.Minute {
		if err := d.Sessions.TouchDashSession(ctx, ds.ID, now); err != nil {
			return nil, err
		}
	}
	return &signIn{User: u, Merchant: m, SessionID: ds.ID, Verified: ds.Verified, session: ds}, nil
}

func (d *Dashboard) now() time.Time {
	if d.Gateway.Clock == nil {
		return time.Now().UTC()
	}
	return d.Gateway.Clock.Now().UTC()
}

// signedInOnly serves h to anyone signed in with their second factor
// given (enrolment: require would send them back to it).
func (d *Dashboard) signedInOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := signInOf(r)
		if s == nil {
			http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
			return
		}
		if !s.Verified {
			http.Redirect(w, r, "/dashboard/login/totp", http.StatusSeeOther)
			return
		}
		h(w, r)
	})
}

// csrfToken is the token of the forms shown to a session: an HMAC of its
// id (or, before sign-in, of the pre-session cookie's value).
func (d *Dashboard) csrfToken(kind, bound string) string {
	m := hmac.New(sha256.New, d.CSRFKey)
	m.Write([]byte("paygate dashboard " + kind + "\x00"))
	m.Write([]byte(bound))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfFor returns the token the forms of request r carry, setting the
// pre-session cookie when no one is signed in and it has none.
func (d *Dashboard) csrfFor(w http.ResponseWriter, r *http.Request) string {
	if s := signInOf(r); s != nil {
		return d.csrfToken("session", s.SessionID)
	}
	if c, err := r.Cookie(d.preCookieName()); err == nil && c.Value != "" {
		return d.csrfToken("pre", c.Value)
	}
	v := paygate.RandomToken(32)
	http.SetCookie(w, d.cookie(d.preCookieName(), v, 0))
	// The cookie is read on the next request; a later call in this one
	// must give the same token.
	r.AddCookie(&http.Cookie{Name: d.preCookieName(), Value: v})
	return d.csrfToken("pre", v)
}

// csrfField is the hidden field every form of a signed-in page carries
// (render also gives it to every page as .CSRF).
func (d *Dashboard) csrfField(r *http.Request) template.HTML {
	s := signInOf(r)
	if s == nil {
		return ""
	}
	return csrfInput(d.csrfToken("session", s.SessionID))
}

func csrfInput(token string) template.HTML {
	return template.HTML(`<input type="hidden" name="csrf" value="` + template.HTMLEscapeString(token) + `">`)
}

// csrfValid checks the token posted with r in constant time.
func (d *Dashboard) csrfValid(r *http.Request) bool {
	got := r.PostFormValue("csrf")
	if got == "" {
		return false
	}
	var want string
	if s := signInOf(r); s != nil {
		want = d.csrfToken("session", s.SessionID)
	} else if c, err := r.Cookie(d.preCookieName()); err == nil && c.Value != "" {
		want = d.csrfToken("pre", c.Value)
	} else {
		return false
	}
	return hmac.Equal([]byte(got), []byte(want))
}

// withCSRF refuses every POST whose form lacks the token of its session.
func (d *Dashboard) withCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
			if !d.csrfValid(r) {
				d.csrfRefused(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
