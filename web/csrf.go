package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// The card and cancel forms carry a token, the HMAC of the session id with
// the server's CSRFKey: only a page the gateway rendered for that session
// has it. There is no cookie to forge a request with, but the token still
// ties each submit to the gateway's own page; the cross-origin check
// (http.CrossOriginProtection) stands in front of it.

func (h *Handler) csrfToken(sessionID string) string {
	m := hmac.New(sha256.New, h.CSRFKey)
	m.Write([]byte("paygate web form\x00"))
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfValid checks a posted token in constant time.
func (h *Handler) csrfValid(sessionID, token string) bool {
	return hmac.Equal([]byte(token), []byte(h.csrfToken(sessionID)))
}
