package web

import (
	"net/http"
	"strings"

	"github.com/paygate/paygate"
)

// Rotating the signing secret and the transparent redirect's api_accesskey
// from the Settings page: a GET asks to confirm and says what happens to
// the secret in force; the POST rotates (the domain methods the JSON API
// uses) and shows the new secret once, in the answer to the POST itself:
// no page can show it again.

// confirmData is a page that asks to confirm a change.
type confirmData struct {
	Heading string
	Text    []string
	Action  string // where the form posts
	Verb    string
	Danger  bool
	Cancel  string
}

// secretData is the page that shows a new secret, once.
type secretData struct {
	Heading string
	Label   string
	Secret  string
	Text    []string
	Back    string
}

func overlapText(what string, hours int) string {
	return "The " + what + " it replaces keeps working for " + itoa(hours) +
		" hours, so you can deploy the new one without downtime; after that only the new one works."
}

// rotations are the secrets of the Settings page that rotate.
var rotations = map[string]struct {
	heading, label, what string
	text                 []string
}{
	"signing-secret": {
		heading: "Rotate the signing secret?", label: "Signing secret", what: "signing secret",
		text: []string{"The signing secret signs what the gateway sends your site: the redirect's result, the proxy's request, post-backs without their own secret.",
			overlapText("signing secret", int(paygate.SigningSecretOverlap.Hours())) + " Meanwhile messages carry a signature with each."},
	},
	"api-accesskey": {
		heading: "Rotate the api_accesskey?", label: "api_accesskey", what: "access key",
		text: []string{"The api_accesskey is what your server hashes transparent redirect forms with.",
			overlapText("access key", int(paygate.AccessKeyOverlap.Hours()))},
	},
}

func (d *Dashboard) rotateConfirm(w http.ResponseWriter, r *http.Request) {
	what := r.PathValue("what")
	rot, ok := rotations[what]
	if !ok {
		d.notFound(w, r)
		return
	}
	d.render(w, r, http.StatusOK, "settings_confirm", confirmData{Heading: rot.heading,
		Text:   append(rot.text[:len(rot.text):len(rot.text)], "The new one is shown once, on the next page: have somewhere safe to store it."),
		Action: "/dashboard/settings/rotate/" + what, Verb: "Rotate", Danger: true, Cancel: "/dashboard/settings"})
}

func (d *Dashboard) rotate(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	what := r.PathValue("what")
	rot, ok := rotations[what]
	if !ok {
		d.notFound(w, r)
		return
	}
	var secret, id string
	switch what {
	case "signing-secret":
		s, err := d.Gateway.RotateSigningSecret(r.Context(), m)
		if err != nil {
			d.internalError(w, r, err)
			return
		}
		secret = s
	case "api-accesskey":
		k, s, err := d.Gateway.RotateAccessKey(r.Context(), m)
		if err != nil {
			d.internalError(w, r, err)
			return
		}
		secret, id = s, k.ID
	}
	d.audit(r, d.auditEntry(r, u, "settings."+strings.ReplaceAll(what, "-", "_")+".rotate", id, ""))
	d.render(w, r, http.StatusOK, "secret", secretData{Heading: "New " + rot.what, Label: rot.label, Secret: secret,
		Text: []string{rot.text[len(rot.text)-1]}, Back: "/dashboard/settings"})
}
